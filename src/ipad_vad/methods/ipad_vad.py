"""IPAD-VAD (seed 000 §4): Video Swin reconstruction with the period head and period memory
(``models/ipad_vad.py``, eq. 1-6), scored by the centre-frame reconstruction error and the
sliding-window period error E_p (§4.3, eq. 7-8), combined as (1 - w) * recon + w * E_p with
w = ``evaluate.period_weight``. Adapted to a device with LoRA on the encoder's q and v (§4.4).
The "without memory" ablation of Table 4 (``ipad_vad_no_memory``) is declared below the method."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ..models.ipad_vad import IPADVAD
from ..models.period_head import circular_mean_phase
from ..models.sliding_window import expected_step, period_error, period_error_at
from . import register
from ._reconstruction import RECON_ERROR, SwinMethod, centre_recon_error
from .abilities import WindowScoringMixin
from .base import ClipScores, MethodSettings, NonNegInt, PosInt, ScoreComponent, ScoreContext


class PeriodSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    n_classes: PosInt = 200  # relative positions in the cycle (paper: 200)
    head_hidden: NonNegInt = 0  # 0: a linear period head
    # (D, h, w) grid the encoder's features are pooled to before the head (models/period_head.py);
    # [1, 1, 1]: one vector per clip (docs/quality.md §8: phase within ±5 % 12 % -> 30 % of clips)
    pool: Annotated[list[PosInt], Field(min_length=3, max_length=3)] = [8, 2, 2]
    # > 0: the features first projected to this many channels (a 1x1x1 convolution): a head of about
    # 0.1 M weights instead of 1.6 M at demo size, which LoRA saves per device (docs/quality.md §8: seed 0,
    # phase within ±5 % 67 -> 77 % of normal test clips, every device up; 0: no projection)
    channels: NonNegInt = 16
    # after training and after each adaptation, the head alone fitted to the phase on the frozen encoder
    # (train/period_head_fit.py): at most this many full-batch Adam steps (0: off, the joint training only),
    # stopping once its loss is within fit_tol nats of the soft targets' own entropy (0: every step), its
    # rate, the width of the soft targets in classes, and a clip every this many frames of the same
    # footage (0: the trainer's clip.train_stride). docs/quality.md §8: with pool [8, 2, 2] and stride 1,
    # 30 -> 67 %; §16: 300 steps at 1e-3 (divergence 0.12 on the demo base) -> this rule
    fit_steps: NonNegInt = 2000
    fit_tol: Annotated[float, Field(ge=0)] = 0.02
    fit_lr: Annotated[float, Field(gt=0)] = 0.001
    fit_sigma: Annotated[float, Field(ge=0)] = 2.0
    fit_stride: NonNegInt = 1
    # the footage the head is fitted on after an adaptation: all = all of the device's training footage (the
    # encoder's LoRA still reads its adapt.fraction share; docs/quality.md §12: three seeds 71.1 -> 72.3,
    # every device up, phase 75.1 -> 77.3 %) | adapt = the share the adaptation read (before 2026-12-06)
    fit_footage: Literal["adapt", "all"] = "all"
    # how t_p is read off the head's distribution P_s: argmax = a whole class (eq. 2) | circular_mean = the
    # mean position on the cycle under P_s (models/period_head.circular_mean_phase; docs/quality.md §18)
    readout: Literal["argmax", "circular_mean"] = "argmax"


class MemorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    use: bool = True  # false: the "without memory" ablation
    size: PosInt = 2000  # memory slots M (paper: 2000)
    softmax_over: Literal["memory", "tokens"] = "memory"  # models/period_memory.py
    boost_radius: NonNegInt = 0  # official code: 7; paper: 0
    shrink_threshold: Annotated[float, Field(ge=0)] = 0.0  # MemAE hard shrinkage (official code); 0 = off


class IPADVADSettings(MethodSettings):
    period: PeriodSettings = PeriodSettings()
    memory: MemorySettings = MemorySettings()


PERIOD_ERROR = ScoreComponent("period_error", "sliding-window period error E_p (eq. 7-8)", window=True)


@register
class IPADVADMethod(WindowScoringMixin, SwinMethod):
    name = "ipad_vad"
    label = "IPAD-VAD"
    components = (RECON_ERROR, PERIOD_ERROR)
    Settings = IPADVADSettings

    def build(self) -> nn.Module:
        s = self.settings
        return IPADVAD(self.encoder_cfg, s.period.model_dump(), s.memory.model_dump(), self.decoder_cfg)

    @property
    def n_classes(self) -> int:
        return self.settings.period.n_classes

    def weights(self) -> dict[str, float]:
        w = float(self.params["evaluate"]["period_weight"])
        return {"recon_error": 1 - w, "period_error": w}

    def fit(self, dataset, out_dir, settings, hooks=None, model=None):
        """The shared trainer (reconstruction, memory and period head together), then with
        ``period.fit_steps`` the period head alone fitted to the phase on the frozen encoder
        (``train/period_head_fit.py``); what that did goes to the fit's info (``period_head``)."""
        res = super().fit(dataset, out_dir, settings, hooks, model)
        p = self.settings.period
        if p.fit_steps:
            from ..train.period_head_fit import fit_period_head

            res.info["period_head"] = fit_period_head(
                res.model,
                dataset,
                settings,
                self.n_classes,
                p.fit_steps,
                p.fit_lr,
                p.fit_sigma,
                p.fit_stride,
                fraction=1.0 if p.fit_footage == "all" else None,
                tol=p.fit_tol,
            )
        return res

    def score_batch(self, model: nn.Module, x: torch.Tensor) -> ClipScores:
        half = x.shape[2] // 2
        out = model(x, frames=(half, half + 1))  # the decoder reconstructs the centre frame alone
        return ClipScores(
            self.clip_components,
            centre_recon_error(out, x, centre_only=True)[:, None],
            phase=self.read_phase(out["period_logits"]),
        )

    def read_phase(self, logits: torch.Tensor) -> torch.Tensor:
        """t_p of each clip from the period head's logits, as ``period.readout`` says."""
        if self.settings.period.readout == "circular_mean":
            return circular_mean_phase(logits)
        return logits.float().argmax(-1)

    def context(self, cycle_frames: float | None) -> ScoreContext:
        e = self.params["evaluate"]
        return ScoreContext(
            self.n_classes,
            int(e["window"]),
            expected_step(self.n_classes, 1, cycle_frames),
            e["period_anchor"],
        )

    def lookahead(self, ctx: ScoreContext) -> int:
        return (ctx.window - 1) // 2

    def window_values(self, phase: np.ndarray, ctx: ScoreContext) -> dict[str, np.ndarray]:
        return {"period_error": period_error(phase, ctx.n_classes, ctx.window, ctx.period_step, ctx.period_anchor)}

    def window_values_at(self, phase: list, t: int, ctx: ScoreContext) -> dict[str, float]:
        return {
            "period_error": period_error_at(phase, t, ctx.n_classes, ctx.window, ctx.period_step, ctx.period_anchor)
        }


@register
class IPADVADNoMemory(IPADVADMethod):
    """Without the period memory (seed 000 Table 4 ablation): the period head still runs, so
    sliding-window inspection keeps working. Settings: ``methods.ipad_vad`` with
    ``methods.ipad_vad_no_memory`` merged over it, ``memory.use`` fixed false."""

    name = "ipad_vad_no_memory"
    label = "IPAD-VAD w/o memory"
    variant_of = "ipad_vad"
    overrides = {"memory": {"use": False}}
