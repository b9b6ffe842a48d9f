"""``evaluate:``: scoring clips, and IPAD-VAD's sliding window and combined score."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from ._base import Pos, Section, Share


class Evaluate(Section):
    batch_size: Pos = 32
    # sliding-window size n (seed 000 §4.3, eq. 7; paper: 5): clips of the window, (n - 1) / 2 of them after the
    # scored one, which streaming waits for (docs/quality.md §9: 5 -> 9 with period_anchor window, 67.6 -> 69.2)
    window: Pos = 9
    # the period error's reference line (models/sliding_window.py): centre: through the centre clip's t_p (eq. 8);
    # window: fitted to the whole window (docs/quality.md §9; every seed up)
    period_anchor: Literal["window", "centre"] = "window"
    # score = (1 - w) * reconstruction + w * period error (both on one scale: fusion); the paper's 0.5 until
    # 2026-12-06: the reconstruction alone scores at chance, 0.8 is +1.0 on every seed (docs/quality.md §11)
    period_weight: Share = 0.8
    # how the components of a method's combined score are put on one scale before their weighted sum:
    # normal: each by its median and MAD on the scene's normal training footage, scored by the same model
    # (evaluate/fusion.py; docs/quality.md §9: IPAD-VAD 63.3 -> 67.6 over three seeds); scene: min-max over the test
    # scene (the score of one component is ranked the same either way)
    fusion: Literal["normal", "scene"] = "normal"

    @field_validator("window")
    @classmethod
    def _odd(cls, n: int) -> int:
        if n % 2 == 0:
            raise ValueError(f"the sliding window is centred on the scored clip, so it must be odd, got {n}")
        return n
