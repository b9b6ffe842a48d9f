"""V-Swin-T baseline (seed 000 Table 2): IPAD-VAD's Video Swin encoder and decoder without the
period head and memory (``models/v_swin_ae.py``); centre-frame reconstruction error; LoRA on q, v."""

from __future__ import annotations

from torch import nn

from ..models.v_swin_ae import VSwinAE
from . import register
from ._reconstruction import SwinMethod


@register
class VSwinAEMethod(SwinMethod):
    name = "v_swin_ae"
    label = "V-Swin-T"

    def build(self) -> nn.Module:
        return VSwinAE(self.encoder_cfg, self.decoder_cfg)
