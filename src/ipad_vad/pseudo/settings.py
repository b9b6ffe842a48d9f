"""The pseudo-anomaly settings, kept with every other section in ``settings/pseudo_anomalies.py``
(issue 28, 1); named here too for the generators' package and its users."""

from ..settings.pseudo_anomalies import ORDER_KINDS, Prob, PseudoMix, PseudoSettings

__all__ = ["ORDER_KINDS", "Prob", "PseudoMix", "PseudoSettings"]
