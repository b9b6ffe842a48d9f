"""INFP ablation of seed 001 Table 2: the baseline, without the multi-feature fusion and the trajectory filter
(AstNet-like: the encoder, the temporal shift, the decoder with channel attention).
Settings: ``methods.infp`` with ``methods.infp_baseline`` merged over it, ``fusion`` and ``filter`` fixed."""

from __future__ import annotations

from . import register
from .infp import INFPMethod


@register
class INFPBaseline(INFPMethod):
    name = "infp_baseline"
    label = "INFP baseline (Table 2)"
    variant_of = "infp"
    overrides = {"fusion": False, "filter": False}
