"""``adapt:``: adapting every method to a device (LoRA, full or refit) on a share of its footage."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ._base import Float, NonNeg, Pos, PosFloat, Section, Share


class Lora(Section):
    rank: Pos = 8
    alpha: PosFloat = 16
    dropout: Share = 0.0
    train_decoder: bool = False
    train_period_head: bool = True


class Adapt(Section):
    epochs: NonNeg = 3
    lr: PosFloat = 5e-4
    schedule: Literal["constant", "one_cycle"] = "constant"  # as train.schedule (its warmup), for adaptations
    fraction: Annotated[Float, Field(gt=0, le=1)] = 0.2  # share of a device's training clips every adaptation sees
    fraction_mode: Literal["contiguous", "random"] = "contiguous"
    lora: Lora = Lora()
