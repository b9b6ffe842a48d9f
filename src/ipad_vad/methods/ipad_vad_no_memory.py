"""IPAD-VAD without the period memory (seed 000 Table 4 ablation): the period head still runs, so
sliding-window inspection keeps working. Settings: ``methods.ipad_vad`` with
``methods.ipad_vad_no_memory`` merged over it, ``memory.use`` fixed false."""

from __future__ import annotations

from . import register
from .ipad_vad import IPADVADMethod


@register
class IPADVADNoMemory(IPADVADMethod):
    name = "ipad_vad_no_memory"
    label = "IPAD-VAD w/o memory"
    variant_of = "ipad_vad"
    overrides = {"memory": {"use": False}}
