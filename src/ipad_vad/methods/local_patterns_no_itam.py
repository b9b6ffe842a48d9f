"""Seed 003's ablation without ITAM: region features are the backbone's tokens mean-pooled, no image
attention and no text alignment - and hence no training signal for the backbone, which keeps its
random initialisation (a fixed random convolutional descriptor; a decision: the paper does not say
how its "w/o ITAM" backbone is trained). The SMM and the normal banks as ``local_patterns``.
Settings: ``methods.local_patterns`` with ``methods.local_patterns_no_itam`` merged over it."""

from __future__ import annotations

from . import register
from .local_patterns import LocalPatternsMethod


@register
class LocalPatternsNoItam(LocalPatternsMethod):
    name = "local_patterns_no_itam"
    label = "Local patterns without ITAM"
    variant_of = "local_patterns"
    overrides = {"itam": False}
