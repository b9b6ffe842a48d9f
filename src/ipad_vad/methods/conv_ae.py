"""conAE baseline (Hasan et al. 2016; seed 000 Table 2): a 2D convolutional autoencoder over the
clip's frames stacked as channels (``models/conv_ae.py``); centre-frame reconstruction error. Small
enough to fine-tune in full on a device (it has no attention layers for LoRA)."""

from __future__ import annotations

from torch import nn

from ..models.conv_ae import ConvAE
from . import register
from ._reconstruction import ReconstructionMethod
from .base import Channels, MethodSettings


class ConvAESettings(MethodSettings):
    channels: Channels = [64, 128, 256]  # 2D convolutions down (and mirrored up)


@register
class ConvAEMethod(ReconstructionMethod):
    name = "conv_ae"
    label = "conAE"
    adaptations = ("full",)
    Settings = ConvAESettings

    def build(self) -> nn.Module:
        return ConvAE(self.clip_len, tuple(self.settings.channels))
