"""memAE baseline (Gong et al. 2019; seed 000 Table 2): a 3D convolutional autoencoder with a
memory module and hard shrinkage (``models/mem_ae.py``); centre-frame reconstruction error; full
fine-tuning on a device."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from torch import nn

from ..models.mem_ae import MemAE
from . import register
from ._reconstruction import ReconstructionMethod
from .base import Channels, MethodSettings, PosInt


class MemAESettings(MethodSettings):
    channels: Channels = [16, 32, 64, 128]  # Conv3d stages (models/conv3d_ae.py)
    mem_size: PosInt = 2000  # memory slots
    shrink_threshold: Annotated[float, Field(ge=0)] = 0.0025  # hard shrinkage (Gong et al.)


@register
class MemAEMethod(ReconstructionMethod):
    name = "mem_ae"
    label = "memAE"
    adaptations = ("full",)
    Settings = MemAESettings

    def build(self) -> nn.Module:
        s = self.settings
        return MemAE(tuple(s.channels), s.mem_size, s.shrink_threshold)
