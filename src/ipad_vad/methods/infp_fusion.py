"""INFP ablation of seed 001 Table 2: the baseline with only the multi-feature fusion (eq. 8-17).
Settings: ``methods.infp`` with ``methods.infp_fusion`` merged over it, ``fusion`` and ``filter`` fixed."""

from __future__ import annotations

from . import register
from .infp import INFPMethod


@register
class INFPFusion(INFPMethod):
    name = "infp_fusion"
    label = "INFP +Fusion (Table 2)"
    variant_of = "infp"
    overrides = {"fusion": True, "filter": False}
