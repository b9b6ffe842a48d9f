"""``evaluate:``: scoring clips, and IPAD-VAD's sliding window and combined score."""

from __future__ import annotations

from typing import Literal

from ._base import Pos, Section, Share


class Evaluate(Section):
    batch_size: Pos = 32
    window: Pos = 5  # sliding-window size n (seed 000 §4.3)
    period_weight: Share = 0.5  # score = (1 - w) * reconstruction + w * period error (both on one scale: fusion)
    # how the components of a method's combined score are put on one scale before their weighted sum:
    # normal: each by its median and MAD on the scene's normal training footage, scored by the same model
    # (evaluate/fusion.py; docs/quality.md §9: IPAD-VAD 63.3 -> 67.6 over three seeds); scene: min-max over the test
    # scene (the score of one component is ranked the same either way)
    fusion: Literal["normal", "scene"] = "normal"
