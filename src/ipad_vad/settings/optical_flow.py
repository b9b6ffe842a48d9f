"""``optical_flow:``: the flow the prepare stage stores and the methods that read flow compute alike."""

from __future__ import annotations

from typing import Literal

from ._base import Section, Size


class OpticalFlow(Section):
    method: Literal["dis", "tvl1"] = "dis"  # dis (fast) | tvl1 (seed 002)
    size: Size = [32, 32]  # stored resolution (float16)
