"""IPAD-VAD without the period memory (seed 000 Table 4 ablation): the period head still runs, so
sliding-window inspection keeps working. Settings: ``methods.ipad_vad`` with
``methods.ipad_vad_no_memory`` merged over it (``memory.use: false``)."""

from __future__ import annotations

from ..config import deep_merge
from . import register
from .ipad_vad import IPADVADMethod


@register
class IPADVADNoMemory(IPADVADMethod):
    name = "ipad_vad_no_memory"
    label = "IPAD-VAD w/o memory"

    def section(self) -> dict:
        base = dict((self.params.get("methods") or {}).get("ipad_vad") or {})
        merged = deep_merge(base, self.cfg)
        merged.setdefault("memory", {})["use"] = False
        return merged

    def model_params(self) -> dict:
        keep = super().model_params()
        keep["methods"]["ipad_vad"] = (self.params.get("methods") or {}).get("ipad_vad") or {}
        return keep
