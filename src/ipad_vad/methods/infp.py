"""INFP (seed 001): frequency-prioritised future-frame prediction (``models/infp/``).

A clip's score stands for its centre frame t: the network sees the ``n_input`` frames before t
(t - n_input .. t - 1) and predicts frame t; trained with alpha * L_2 + (1 - alpha) * the gradient
loss (eq. 5-7, ``train/losses.prediction_loss``). The frames of the clip after t are not used, so
the latency of streaming is that of every other method.

Score components (higher = more anomalous), weighted by ``methods.infp.weights``:

* ``pred_error``: -PSNR of the predicted frame (the paper's score; the prediction clamped to the
  frames' range [-1, 1]);
* ``pred_local``: the worst ``cell`` x ``cell`` region of the prediction residual, its local light
  offset removed over ``offset_cell`` blocks (``models/local_error.py``, the local score of the
  quality issue), which a small anomaly moves by its whole size rather than its share of the frame.

Adapted to a device by LoRA on the convolutions and linears of the encoder and the multi-feature
parts (peft; the adapter-only artifact, the BatchNorms trained in full so that their statistics are
saved with it) or by full fine-tuning. Table 2's ablations are the settings ``fusion`` and ``filter``
(methods ``infp_baseline``, ``infp_fusion``, ``infp_filter``, declared below the method).
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import ConfigDict, Field
from torch import nn

from ..errors import ConfigError
from ..models.infp import INFP, INFPConfig
from ..models.local_error import local_error
from . import register
from ._reconstruction import psnr_from_mse
from .abilities import LoRAMixin
from .base import ClipScores, Method, NonNegInt, PosInt, ScoreComponent, WeightedSettings

PRED_ERROR = ScoreComponent(
    "pred_error", "prediction error of the clip's centre frame from the frames before it (-PSNR, dB)"
)
PRED_LOCAL = ScoreComponent("pred_local", "worst cell of the prediction residual (local light offset removed)")


class INFPSettings(WeightedSettings):
    """The method's keys; every other key of ``methods.infp`` is a network size (``INFPConfig``, which
    rejects the ones it does not know)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    alpha: Annotated[float, Field(ge=0, le=1)] = 0.5  # loss = alpha * L2 + (1 - alpha) * gradient loss (eq. 7)
    normalise: Literal["none", "frame"] = "none"  # frame: each frame to zero mean, unit std (flicker drops out)
    encoder_checkpoint: str = ""  # a local checkpoint of the encoder; never downloaded
    cell: PosInt = 8  # pred_local: cells of the prediction residual ...
    offset_cell: NonNegInt = 16  # ... its local light offset removed over blocks this size first (0: off)
    weights: dict[Literal["pred_error", "pred_local"], Annotated[float, Field(ge=0)]] = {"pred_error": 1.0}


# LoRA targets: every convolution and linear of the encoder, the frame merge, the frequency branch and the
# context fusion (the decoder's transposed convolutions have no LoRA in peft; the decoder adapts by its norms,
# or in full with adapt.lora.train_decoder)
INFP_LORA = r"(encoder\..*conv\d?|merge\.s\d|frequency\..*(conv\d?|fc\d)|fusion\.(corners\.\w+|gate\.fc\d))"
NORMS = ["bn1", "bn2", "norm"]  # every BatchNorm of the network ends in one of these
DECODER = ["up8", "up4", "up2", "filter", "head"]


@register
class INFPMethod(LoRAMixin, Method):
    name = "infp"
    label = "INFP"
    components = (PRED_ERROR, PRED_LOCAL)
    adaptations = ("lora", "full")
    lora_targets = INFP_LORA
    Settings = INFPSettings

    def __init__(self, params: dict):
        super().__init__(params)
        s = self.settings
        self.config = INFPConfig.from_dict(s.model_extra or {}, size=tuple(self.params["clip"]["size"]))
        self.alpha, self.cell, self.offset_cell, self.normalise = s.alpha, s.cell, s.offset_cell, s.normalise
        if self.clip_len // 2 < self.config.n_input:
            raise ConfigError(
                f"methods.{self.name}: predicting a clip's centre frame from the {self.config.n_input} "
                f"frames before it needs clips of {2 * self.config.n_input} frames or more "
                f"(clip.length is {self.clip_len})"
            )

    def build(self) -> nn.Module:
        return INFP(self.config)

    # -- frames in, frame out ------------------------------------------------------------------
    def split(self, clip: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs (N, 3, n_input, H, W), target centre frame (N, 3, H, W)) of clips (N, 3, T, H, W)."""
        t = clip.shape[2] // 2
        frames = clip[:, :, t - self.config.n_input : t + 1]
        if self.normalise == "frame":  # each frame to zero mean, unit std: a global gain or offset (flicker) drops out
            dims = (1, 3, 4)
            frames = (frames - frames.mean(dims, keepdim=True)) / frames.std(dims, keepdim=True).clamp_min(1e-3)
        return frames[:, :, :-1], frames[:, :, -1]

    def training_loss(self, model: nn.Module, batch: dict, settings) -> tuple[torch.Tensor, dict]:
        from ..train.losses import prediction_loss

        inputs = self.split(self.training_input(batch))[0]  # PAs in the frames before t, if any ...
        target = self.split(batch["clip"])[1]  # ... and the normal frame t to predict
        return prediction_loss(model(inputs)["pred"], target, self.alpha)

    def score_batch(self, model: nn.Module, x: torch.Tensor) -> ClipScores:
        inputs, target = self.split(x)
        pred = model(inputs)["pred"].float()
        residual = (pred.clamp(-1, 1) if self.normalise == "none" else pred) - target.float()
        mse = residual.pow(2).flatten(1).mean(1)
        vals = {"pred_error": -psnr_from_mse(mse), "pred_local": local_error(residual, self.cell, self.offset_cell)}
        return ClipScores(self.clip_components, torch.stack([vals[n] for n in self.clip_components], 1))

    # -- fitting and adaptation -----------------------------------------------------------------
    def encoder_checkpoint(self):
        """From scratch (as the official code), or with the encoder from a local checkpoint
        (``methods.infp.encoder_checkpoint``)."""
        weights = self.settings.encoder_checkpoint
        if not weights:
            return None
        from ..models.infp.wide_resnet import load_encoder_checkpoint

        return "encoder_checkpoint", weights, load_encoder_checkpoint

    def lora_modules_to_save(self, lora) -> list[str]:
        return NORMS + (DECODER if getattr(lora, "train_decoder", False) else [])


@register
class INFPBaseline(INFPMethod):
    """Table 2's baseline, without the multi-feature fusion and the trajectory filter (AstNet-like: the
    encoder, the temporal shift, the decoder with channel attention). Settings: ``methods.infp`` with
    ``methods.infp_baseline`` merged over it, ``fusion`` and ``filter`` fixed."""

    name = "infp_baseline"
    label = "INFP baseline (Table 2)"
    variant_of = "infp"
    overrides = {"fusion": False, "filter": False}


@register
class INFPFusion(INFPMethod):
    """Table 2: the baseline with only the multi-feature fusion (eq. 8-17)."""

    name = "infp_fusion"
    label = "INFP +Fusion (Table 2)"
    variant_of = "infp"
    overrides = {"fusion": True, "filter": False}


@register
class INFPFilter(INFPMethod):
    """Table 2: the baseline with only the trajectory filter (eq. 18-21)."""

    name = "infp_filter"
    label = "INFP +Filter (Table 2)"
    variant_of = "infp"
    overrides = {"fusion": False, "filter": True}
