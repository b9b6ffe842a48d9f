"""``score:``: `ipad score` (one camera's footage scored by its device's champion)."""

from __future__ import annotations

from typing import Literal, Optional

from ..alerts.operator_settings import EvidenceSettings
from ._base import NonNeg, NonNegFloat, PosFloat, Section


class Score(Section):
    max_latency: Optional[NonNeg] = None  # frames from arrival to alert (None: one clip; 0: one clip per batch)
    batch_clips: NonNeg = 0  # 0: the largest batch within max_latency; >0: fixed
    format: Literal["csv", "parquet"] = "csv"  # per-frame scores
    poll_s: PosFloat = 0.5  # --follow: seconds between looks for new frames
    idle_timeout: NonNegFloat = 30  # --follow: end after this many seconds without a new frame (0: never)
    device: str = "auto"  # auto: cuda when present, else cpu
    evidence: EvidenceSettings = EvidenceSettings()  # what each alert carries (alerts/operator_settings.py)
