"""Seed 003's ablation without the SMM: a plain MLP predicts a region's features dt ahead from the
tube's L concatenated features (``models/local_patterns/smm.PlainPredictor``) instead of the Legendre
state machine. Settings: ``methods.local_patterns`` with ``methods.local_patterns_no_smm`` merged over it."""

from __future__ import annotations

from . import register
from .local_patterns import LocalPatternsMethod


@register
class LocalPatternsNoSmm(LocalPatternsMethod):
    name = "local_patterns_no_smm"
    label = "Local patterns without SMM"
    variant_of = "local_patterns"
    overrides = {"smm": False}
