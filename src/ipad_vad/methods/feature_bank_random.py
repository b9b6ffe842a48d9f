"""Ablation of the feature bank: the encoder keeps its random initialisation, never trained (no
pretraining, no adaptation steps): a fixed random convolutional descriptor matched as the reference
detector. What the feature bank scores above it is what the training is worth. Settings:
``methods.feature_bank`` with ``methods.feature_bank_random`` merged over it, the steps fixed at 0."""

from __future__ import annotations

from . import register
from .feature_bank import FeatureBankMethod


@register
class FeatureBankRandom(FeatureBankMethod):
    name = "feature_bank_random"
    label = "Feature bank, random encoder"
    variant_of = "feature_bank"
    overrides = {"steps": 0, "adapt_steps": 0}
