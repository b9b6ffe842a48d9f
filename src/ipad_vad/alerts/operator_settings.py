"""Typed settings of what an operator gets with an alert and gives back (issue 26, 4 and 5):
``score.evidence`` (the region, heat map and thumbnails ``ipad score`` writes per alert) and
``feedback`` (``ipad alerts``: marks, and how marked footage is exported into the data folder).
Pydantic only, so that ``params_schema`` can check them without importing torch."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field



class EvidenceSettings(BaseModel):
    """``score.evidence``: what each alert of ``ipad score`` carries (``alerts/evidence.py``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True  # off: the events carry the alert, the components and the model version only
    box_share: Annotated[float, Field(gt=0, le=1)] = 0.5  # the region: the connected cells around the heat
    # map's maximum whose heat is at least this share of it
    thumb_height: Annotated[int, Field(ge=32)] = 240  # height in pixels of each half of the PNG
    heat_alpha: Annotated[float, Field(ge=0, le=1)] = 0.5  # opacity of the heat map over the anomalous frame

    @classmethod
    def from_params(cls, params: dict) -> "EvidenceSettings":
        return _validated(cls, _defaults(params)["score"]["evidence"], "score.evidence")


class FeedbackSettings(BaseModel):
    """``feedback``: operator marks on alerts and their export (``alerts/feedback.py``, ``ipad alerts``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    marks_file: str = "alert_marks.json"  # the marks, in the scores folder beside the alerts they name
    context_frames: Annotated[int, Field(ge=0)] = 16  # frames exported before and after an alert's span
    # (the clips centred on its first and last frames are whole: at least half a clip)
    staging: str = "feedback"  # the exported clips are written here (in the scores folder), then imported
    fps: Annotated[float, Field(gt=0)] = 2.0  # frame rate of an exported clip whose footage has none (a frame
    # folder not in the manifest): the generator's nominal rate

    @classmethod
    def from_params(cls, params: dict) -> "FeedbackSettings":
        return _validated(cls, _defaults(params)["feedback"], "feedback")



def _defaults(params: dict) -> dict:
    """`params` with the defaults of what it leaves out (the CLI without a params.yaml passes {})."""
    from ..params_schema import with_defaults

    return with_defaults(params)


def _validated(cls, values: dict, where: str):
    from ..params_schema import validate_section

    return validate_section(cls, values, f"{where} settings", where)
