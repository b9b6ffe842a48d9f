"""The typed schema of params.yaml (issue 16, 4): every section, with its keys' types and ranges.

``config.load_params`` validates the file — its base sections and every profile overlay merged over
them — before any work starts. An unknown key (``lenght: 16``), a wrongly typed value
(``clip: {length: "sixteen"}``) or one out of range is a ``ConfigError`` naming the file, the key,
the value and what is allowed, never a traceback from deep inside a stage. Keys may be left out
(the code has defaults); values are only checked, the loaded dict is returned as written.

``methods.<name>`` sections belong to their methods: here their names must be registered methods
(files in ``methods/``); their keys are checked against the method's own typed schema (its
``Settings``, ``methods/base.py``) when the method is built - for every method of
``pipeline.methods`` when a pipeline run starts (``jobs/settings.PipelineSettings``), and by every
stage or job that builds one. Not here: that would import every method, and torch, on every command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .alerts.operator_settings import EvidenceSettings, FeedbackSettings
from .errors import ConfigError
from .pseudo.settings import PseudoSettings
from .serve.settings import ServeSettings

Pos = Annotated[int, Field(gt=0)]
NonNeg = Annotated[int, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
Size = Annotated[list[Annotated[int, Field(gt=0)]], Field(min_length=2, max_length=2)]
Scenes = list[str]


class _S(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Data(_S):
    root: Optional[str] = None
    manifest: Optional[str] = None
    manifests: Optional[str] = None
    scenes: Optional[Scenes] = None
    jpeg_quality: Optional[Annotated[int, Field(ge=1, le=100)]] = None


class Validation(_S):
    on_failure: Optional[Literal["fail", "exclude"]] = None
    sample_decode: Optional[NonNeg] = None
    report_dir: Optional[str] = None


class Clip(_S):
    length: Optional[Pos] = None
    stride: Optional[Pos] = None
    size: Optional[Size] = None
    train_stride: Optional[Pos] = None


class Pipeline(_S):
    scenes: Optional[Scenes] = None
    pretrain_scenes: Optional[Scenes] = None
    devices: Optional[Scenes] = None
    pretrain_data: Optional[Literal["pretrain", "devices"]] = None
    methods: Optional[list[str]] = None
    promote_methods: Optional[list[str]] = None
    promote_margin: Optional[Annotated[float, Field(ge=0)]] = None
    promote_min_auc: Optional[Annotated[float, Field(ge=0, le=100)]] = None  # percent (70), as every AUC shown
    prepared_root: Optional[str] = None
    models_root: Optional[str] = None
    eval_root: Optional[str] = None
    plots_root: Optional[str] = None
    metrics_root: Optional[str] = None
    reports_root: Optional[str] = None
    registry_root: Optional[str] = None

    @field_validator("methods", "promote_methods")
    @classmethod
    def _registered_methods(cls, v):  # issue 29: before any server or flow starts, not inside a flow run
        unknown = [m for m in v or [] if m not in method_files()]
        if unknown:
            raise ValueError(f"unknown method{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))} "
                             f"(in {v}); known: {method_files()}")
        return v


class OpticalFlow(_S):
    method: Optional[Literal["dis", "tvl1"]] = None
    size: Optional[Size] = None


class Period(_S):
    signal: Optional[Literal["appearance", "energy"]] = None
    min_frames: Optional[Pos] = None
    max_frames: Optional[Pos] = None
    use_annotations: Optional[bool] = None


class Encoder(_S):
    embed_dim: Optional[Pos] = None
    depths: Optional[list[Pos]] = None
    heads: Optional[list[Pos]] = None
    window: Optional[list[Pos]] = None
    patch: Optional[list[Pos]] = None
    mlp_ratio: Optional[Annotated[float, Field(gt=0)]] = None
    drop_path: Optional[Share] = None


class Decoder(_S):
    min_dim: Optional[Pos] = None


class Model(_S):
    pretrained_encoder: Optional[str] = None
    encoder: Optional[Encoder] = None
    decoder: Optional[Decoder] = None


class Loss(_S):
    entropy: Optional[Annotated[float, Field(ge=0)]] = None
    period_ce: Optional[Annotated[float, Field(ge=0)]] = None


class Train(_S):
    epochs: Optional[NonNeg] = None
    batch_size: Optional[Pos] = None
    lr: Optional[Annotated[float, Field(gt=0)]] = None
    weight_decay: Optional[Annotated[float, Field(ge=0)]] = None
    grad_clip: Optional[Annotated[float, Field(ge=0)]] = None
    num_workers: Optional[NonNeg] = None
    worker_start: Optional[Literal["spawn", "fork", "forkserver"]] = None
    seed: Optional[int] = None
    threads: Optional[NonNeg] = None
    device: Optional[str] = None
    amp: Optional[bool] = None
    period_target: Optional[Literal["annotation", "official"]] = None
    loss: Optional[Loss] = None


class Lora(_S):
    rank: Optional[Pos] = None
    alpha: Optional[Annotated[float, Field(gt=0)]] = None
    dropout: Optional[Share] = None
    train_decoder: Optional[bool] = None
    train_period_head: Optional[bool] = None


class Finetune(_S):
    epochs: Optional[NonNeg] = None
    lr: Optional[Annotated[float, Field(gt=0)]] = None
    fraction: Optional[Annotated[float, Field(gt=0, le=1)]] = None
    fraction_mode: Optional[Literal["contiguous", "random"]] = None
    lora: Optional[Lora] = None


class Evaluate(_S):
    batch_size: Optional[Pos] = None
    window: Optional[Pos] = None
    period_weight: Optional[Share] = None


class Storage(_S):
    bucket: Optional[str] = None
    endpoint_url: Optional[str] = None
    region: Optional[str] = None
    landing_prefix: Optional[str] = None
    archive_prefix: Optional[str] = None
    ledger_key: Optional[str] = None
    staging: Optional[str] = None


class Alert(_S):
    false_alarm_rate: Optional[Annotated[float, Field(gt=0, lt=1)]] = None
    min_frames: Optional[Pos] = None
    merge_gap: Optional[NonNeg] = None
    min_calibration_frames: Optional[Pos] = None
    alerts_per_hour: Optional[Annotated[float, Field(ge=0)]] = None  # issue 26: shift calibration
    threshold_margin: Optional[float] = None
    release_margin: Optional[Annotated[float, Field(ge=0)]] = None
    smooth: Optional[Pos] = None


class Score(_S):
    max_latency: Optional[NonNeg] = None
    batch_clips: Optional[NonNeg] = None
    format: Optional[Literal["csv", "parquet"]] = None
    poll_s: Optional[Annotated[float, Field(gt=0)]] = None
    idle_timeout: Optional[Annotated[float, Field(ge=0)]] = None
    device: Optional[str] = None
    evidence: Optional[EvidenceSettings] = None  # what each alert carries (alerts/operator_settings.py)


class Nuisance(_S):
    light_drift: Optional[Annotated[float, Field(ge=0)]] = None
    flicker: Optional[Annotated[float, Field(ge=0)]] = None
    spot: Optional[Annotated[float, Field(ge=0)]] = None
    jitter: Optional[Annotated[float, Field(ge=0)]] = None


class DomainShift(_S):
    cast: Optional[Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=3, max_length=3)]] = None
    blur: Optional[Annotated[float, Field(ge=0)]] = None
    noise: Optional[Annotated[float, Field(ge=0)]] = None
    perspective: Optional[Annotated[float, Field(ge=0)]] = None
    texture: Optional[Annotated[float, Field(ge=0)]] = None


class Synth(_S):
    seed: Optional[int] = None
    scenes: Optional[Scenes] = None
    size: Optional[Size] = None
    fps: Optional[Annotated[float, Field(gt=0)]] = None
    cycle_jitter: Optional[Share] = None
    train_videos: Optional[Pos] = None
    train_cycles: Optional[Pos] = None
    test_videos: Optional[Pos] = None
    test_cycles: Optional[Pos] = None
    jpeg_quality: Optional[Annotated[int, Field(ge=1, le=100)]] = None
    real_jpeg_quality: Optional[Annotated[int, Field(ge=1, le=100)]] = None
    write_mp4: Optional[bool] = None
    workers: Optional[Pos] = None
    nuisance: Optional[Nuisance] = None
    domain_shift: Optional[DomainShift] = None


def method_files() -> list[str]:
    """The registered methods' names: the files of ``methods/`` (one method each), found without
    importing them (that would import torch for every command)."""
    folder = Path(__file__).with_name("methods")
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_") and p.stem not in ("base", "adaptation"))


class Params(_S):
    profile: Optional[str] = None
    data: Optional[Data] = None
    validation: Optional[Validation] = None
    clip: Optional[Clip] = None
    pipeline: Optional[Pipeline] = None
    optical_flow: Optional[OpticalFlow] = None
    period: Optional[Period] = None
    model: Optional[Model] = None
    methods: Optional[dict[str, Optional[dict[str, Any]]]] = None
    pseudo_anomalies: Optional[PseudoSettings] = None
    train: Optional[Train] = None
    finetune: Optional[Finetune] = None
    evaluate: Optional[Evaluate] = None
    storage: Optional[Storage] = None
    alert: Optional[Alert] = None
    score: Optional[Score] = None
    serve: Optional[ServeSettings] = None  # `ipad serve` (serve/settings.py)
    feedback: Optional[FeedbackSettings] = None  # `ipad alerts` marks and export (alerts/operator_settings.py)
    synth: Optional[Synth] = None

    @field_validator("methods")
    @classmethod
    def _known_methods(cls, v):
        unknown = sorted(set(v or {}) - set(method_files()))
        if unknown:
            raise ValueError(f"unknown methods {unknown}; known: {method_files()}")
        return v


def _known_keys(loc: tuple, model: Any) -> list[str]:
    """The keys allowed where an unknown key `loc` was found (under the schema `model`)."""
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = next((a for a in getattr(field.annotation, "__args__", (field.annotation,))
                      if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if model is None:
            return []
    return sorted(getattr(model, "model_fields", {}))


def validate_section(model: type[BaseModel], raw: dict, where: str, prefix: str = ""):
    """`raw` validated by the schema `model`, or a ConfigError naming every problem (`where`: the file
    and profile, or the section; `prefix`: the section's key path, before each key named)."""
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        lines = []
        for err in e.errors():
            key = ".".join([prefix] * bool(prefix) + [str(p) for p in err["loc"]])
            if err["type"] == "extra_forbidden":
                lines.append(f"{key}: unknown key; known here: {_known_keys(err['loc'], model)}")
            elif err["type"] == "value_error":  # a check of ours: its message names what is wrong
                lines.append(f"{key}: {err['msg'].removeprefix('Value error, ')}")
            else:
                lines.append(f"{key} = {err.get('input')!r}: {err['msg']}")
        raise ConfigError(f"{where}: " + "; ".join(lines)) from None


def check_params(raw: dict, where: str) -> None:
    """Raise ConfigError for every problem of params dict `raw` (`where`: the file and profile)."""
    validate_section(Params, raw, where)
