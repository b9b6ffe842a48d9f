"""The ``serve:`` section of params.yaml (and of a serve config file, which overrides it): typed,
with defaults. Only pydantic here: params_schema imports it on every command; ``serve/settings.py``
names it for the server's package."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

PosF = Annotated[float, Field(gt=0)]
NonNegF = Annotated[float, Field(ge=0)]


class ServeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"  # the HTTP endpoints (/metrics, /healthz): loopback unless an address is configured
    port: Annotated[int, Field(ge=0, le=65535)] = 9108  # 0: any free port (logged)
    out: str = "serve"  # per camera <name>.scores.csv, <name>.alerts.jsonl, <name>.faults.jsonl; serve.events.jsonl
    registry_poll_s: PosF = 30.0  # seconds between looks at each device's champion alias
    poll_s: PosF = 0.2  # seconds between looks for new frames of a growing file or folder
    stall_s: PosF = 10.0  # a camera without a new frame this long is reported stalled
    flush_s: NonNegF = 1.0  # a camera without a new frame this long gets its complete clips scored at once
    idle_exit_s: NonNegF = 0.0  # stop when no camera has sent a frame for this long (0: never; demos and tests)
    backoff_s: PosF = 0.5  # first wait before re-reading a bad frame or reconnecting a source ...
    backoff_max_s: PosF = 30.0  # ... doubling up to this
    frame_retries: Annotated[int, Field(ge=0)] = 3  # a corrupt frame is re-read this many times before it is skipped
    queue_frames: Annotated[int, Field(gt=0)] = 256  # frames buffered per camera between its reader and the scorer
    max_batch_clips: Annotated[int, Field(gt=0)] = 512  # clips of one model in one forward, at most
    open_timeout_s: PosF = 5.0  # a URL source must open within this at start (else: unreachable)
    share_lora_bases: bool = True  # devices whose champions are LoRA adaptations of one base hold that base once
    #                                (one peft model, an adapter per device: inference/shared_base.py); off: each
    #                                champion merged into a model of its own, as `ipad score` loads it
