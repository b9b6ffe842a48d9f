"""memAE baseline (Gong et al. 2019; seed 000 Table 2): a 3D convolutional autoencoder with a
memory module and hard shrinkage (``models/mem_ae.py``); centre-frame reconstruction error; full
fine-tuning on a device."""

from __future__ import annotations

from torch import nn

from ..models.mem_ae import MemAE
from . import register
from ._reconstruction import ReconstructionMethod


@register
class MemAEMethod(ReconstructionMethod):
    name = "mem_ae"
    label = "memAE"
    adaptations = ("full",)

    def build(self) -> nn.Module:
        c = self.cfg
        return MemAE(tuple(c.get("channels", (16, 32, 64, 128))), int(c.get("mem_size", 2000)),
                     float(c.get("shrink_threshold", 0.0025)))
