"""Seed 002's "Baseline (without PAs)" (its Tables 1, 2): the networks of ``pseudo_anomaly`` trained on
normal clips only, scored by the two reconstruction errors (D, never shown a PA, is left out).
Settings: ``methods.pseudo_anomaly`` with ``methods.pseudo_anomaly_baseline`` merged over it."""

from __future__ import annotations

from . import register
from .pseudo_anomaly import PseudoAnomalyMethod


@register
class PseudoAnomalyBaseline(PseudoAnomalyMethod):
    name = "pseudo_anomaly_baseline"
    label = "Spatio-temporal AEs without PAs"
    variant_of = "pseudo_anomaly"
    overrides = {"pseudo_anomalies": {"spatial": 0.0, "temporal": 0.0, "order": 0.0}, "weights": {"semantic": 0.0}}
