"""``score:``: `ipad score` (one camera's footage scored by its device's champion)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ._base import NonNeg, NonNegFloat, PosFloat, Section, from_params


class EvidenceSettings(Section):
    """``score.evidence``: what each alert of ``ipad score`` carries (``alerts/evidence.py``; issue 26, 4)."""

    enabled: bool = True  # off: the events carry the alert, the components and the model version only
    box_share: Annotated[float, Field(gt=0, le=1)] = 0.5  # the region: the connected cells around the heat
    # map's maximum whose heat is at least this share of it
    thumb_height: Annotated[int, Field(ge=32)] = 240  # height in pixels of each half of the PNG
    heat_alpha: Annotated[float, Field(ge=0, le=1)] = 0.5  # opacity of the heat map over the anomalous frame

    @classmethod
    def from_params(cls, params: dict) -> EvidenceSettings:
        return from_params(cls, params, "score.evidence", "score.evidence settings")


class Score(Section):
    max_latency: NonNeg | None = None  # frames from arrival to alert (None: one clip; 0: one clip per batch)
    batch_clips: NonNeg = 0  # 0: the largest batch within max_latency; >0: fixed
    format: Literal["csv", "parquet"] = "csv"  # per-frame scores
    poll_s: PosFloat = 0.5  # --follow: seconds between looks for new frames
    idle_timeout: NonNegFloat = 30  # --follow: end after this many seconds without a new frame (0: never)
    device: str = "auto"  # auto: cuda when present, else cpu
    evidence: EvidenceSettings = EvidenceSettings()  # what each alert carries
