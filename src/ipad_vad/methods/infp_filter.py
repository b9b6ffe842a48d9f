"""INFP ablation of seed 001 Table 2: the baseline with only the trajectory filter (eq. 18-21).
Settings: ``methods.infp`` with ``methods.infp_filter`` merged over it, ``fusion`` and ``filter`` fixed."""

from __future__ import annotations

from . import register
from .infp import INFPMethod


@register
class INFPFilter(INFPMethod):
    name = "infp_filter"
    label = "INFP +Filter (Table 2)"
    variant_of = "infp"
    overrides = {"fusion": False, "filter": True}
