"""``feedback:``: operator marks on alerts and how marked footage is exported into the data folder
(``alerts/feedback.py``, ``ipad alerts``; issue 26, 5)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ._base import Section, from_params


class FeedbackSettings(Section):
    marks_file: str = "alert_marks.json"  # the marks, in the scores folder beside the alerts they name
    context_frames: Annotated[int, Field(ge=0)] = 16  # frames exported before and after an alert's span
    # (the clips centred on its first and last frames are whole: at least half a clip)
    context_cycles: Annotated[float, Field(ge=0)] = 1.75  # ... and at least this many of the device's cycles
    # plus half a clip, where its cycle length is known: the period step crops a training recording to
    # whole cycles, its first start within one cycle of the recording's start and its last within 1.75
    # cycles of its end (preprocess/period.find_cycle_starts), so every marked frame's clip survives the crop
    staging: str = "feedback"  # the exported clips are written here (in the scores folder), then imported
    fps: Annotated[float, Field(gt=0)] = 2.0  # frame rate of an exported clip whose footage has none (a frame
    # folder not in the manifest): the generator's nominal rate

    @classmethod
    def from_params(cls, params: dict) -> FeedbackSettings:
        return from_params(cls, params, "feedback", "feedback settings")
