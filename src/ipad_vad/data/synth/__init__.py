"""Procedural IPAD-like footage: 12 synthetic machines (S01-S12) and 4 real-domain twins (R01-R04),
written in the IPAD layout with frame labels, per-frame anomaly types and cycle starts.

Entry points: :func:`generator.generate` (``ipad data synth``) and :func:`preview.contact_sheet`
(``ipad data preview``).
"""
