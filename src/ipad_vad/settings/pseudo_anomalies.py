"""``pseudo_anomalies:``: how the pseudo-anomaly generators (seed 002, ``pseudo/``) make PAs, shared by
every method that trains with pseudo-anomalies, and the per-method probabilities
(``methods.<name>.pseudo_anomalies``) with which a training clip is replaced by one."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._base import from_params

Prob = Annotated[float, Field(ge=0, le=1)]
ORDER_KINDS = ("skip", "repeat", "reverse")


class PseudoSettings(BaseModel):
    """How PAs are made (``pseudo_anomalies:``; every key has a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # spatial PAs (§3.2): a masked region inpainted
    mask: Literal["random", "motion", "mixed"] = "mixed"  # mixed: the moving part's shape where the clip moves,
    mask_area: tuple[Prob, Prob] = (0.03, 0.15)  # random masks cover this share of the frame (min, max)
    motion_threshold: Annotated[float, Field(gt=0, le=255)] = 24.0  # a pixel moves: |frame - clip median| above this
    motion_box: Prob = 0.4  # motion masks: the moving pixels within a box this share of the frame's side
    motion_min_pixels: Annotated[int, Field(ge=1)] = 12  # fewer moving pixels in that box: a random mask instead
    inpainter: str = "opencv"  # opencv | patch | diffusion | a name registered with pseudo.inpainters.register
    inpaint_radius: Annotated[int, Field(ge=1)] = 3  # opencv: the neighbourhood Telea's method fills from
    patch_min_shift: Prob = 0.25  # patch: the region comes from at least this share of the frame's side away
    diffusion_checkpoint: str = ""  # diffusion: a local diffusers inpainting pipeline folder (never downloaded)
    # temporal PAs (§3.3): flow patches mixed up; frame-order PAs (LNTRA's skip family)
    mixup_alpha: Annotated[float, Field(gt=0)] = 0.4  # lambda ~ Beta(alpha, alpha), as mixup [103]
    flow_box: tuple[Prob, Prob] = (0.2, 0.5)  # side of the mixed flow patch, share of the flow field's side
    order: tuple[Literal["skip", "repeat", "reverse"], ...] = ORDER_KINDS
    max_stride: Annotated[int, Field(ge=2)] = 4  # skip / repeat: a stride drawn from 2..max_stride

    @model_validator(mode="after")
    def _ranges(self):
        for key in ("mask_area", "flow_box"):
            lo, hi = getattr(self, key)
            if lo > hi or hi <= 0:
                raise ValueError(f"{key}: (min, max) with 0 < max and min <= max, got {[lo, hi]}")
        if not self.order:
            raise ValueError("order: at least one of " + ", ".join(ORDER_KINDS))
        return self

    @classmethod
    def from_params(cls, params: dict) -> PseudoSettings:
        return from_params(cls, params, "pseudo_anomalies", "pseudo-anomaly settings")


class PseudoMix(BaseModel):
    """Probabilities with which a training clip is replaced by a PA (``methods.<name>.pseudo_anomalies``):
    the model still has to output the *normal* clip (eq. 4, 5). All zero: PAs off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spatial: Prob = 0.0  # p_s: an inpainted region (eq. 2)
    temporal: Prob = 0.0  # p_t: mixed-up flow patches (eq. 3; only a model that reads flow)
    order: Prob = 0.0  # frames skipped, repeated or reversed (LNTRA)

    @model_validator(mode="after")
    def _sum(self):
        if self.spatial + self.order > 1:
            raise ValueError(
                f"spatial + order are shares of the same clips and must not exceed 1, got {self.spatial} + {self.order}"
            )
        return self

    @property
    def active(self) -> bool:
        return self.spatial > 0 or self.temporal > 0 or self.order > 0
