"""Ablation of the feature bank: pretrained on the synthetic scenes, not adapted to the device (no
LoRA steps: the device's bank alone is refitted). What the feature bank scores above it on the
devices is what the per-device adaptation is worth. Settings: ``methods.feature_bank`` with
``methods.feature_bank_no_adapt`` merged over it, ``adapt_steps`` fixed at 0."""

from __future__ import annotations

from . import register
from .feature_bank import FeatureBankMethod


@register
class FeatureBankNoAdapt(FeatureBankMethod):
    name = "feature_bank_no_adapt"
    label = "Feature bank, no adaptation"
    variant_of = "feature_bank"
    overrides = {"adapt_steps": 0}
