"""``evaluate:``: scoring clips, and IPAD-VAD's sliding window and combined score."""

from __future__ import annotations

from ._base import Pos, Section, Share


class Evaluate(Section):
    batch_size: Pos = 32
    window: Pos = 5  # sliding-window size n (seed 000 §4.3)
    period_weight: Share = 0.5  # score = (1 - w) * reconstruction + w * period error (both scene-normalised)
