"""``period:``: how the prepare stage estimates each video's cycles (preprocess/period.py)."""

from __future__ import annotations

from typing import Literal

from ._base import Pos, Section


class Period(Section):
    signal: Literal["appearance", "energy"] = "appearance"  # energy: motion energy (needs the flow)
    min_frames: Pos = 8
    max_frames: Pos = 400
    use_annotations: bool = True  # use periods/ annotations where present (the estimate is still checked)
