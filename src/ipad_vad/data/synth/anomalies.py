"""Anomaly types of the generator, grouped in the four families of the IPAD paper (seed 000 §3.1).

Two mechanisms produce them:
* **timeline** anomalies change *when* the machine is where (pause, speed, order, missing_step);
  every single frame still shows a pose of the normal cycle — only periodic context reveals them;
* **look** anomalies change *what* a cycle's workpiece or part looks like or where it is (colour,
  shape, shift, tilt, sorting, missing_part). A device draws with the look of the cycle it is
  showing, and :class:`LookBook` records whether an anomalous look was drawn in a frame: the label
  of a look anomaly is exactly "an anomalous object is visible".
"""

from __future__ import annotations

from dataclasses import dataclass, replace

ANOMALY_TYPES: dict[str, dict] = {
    # name: code (per-frame side file), family
    "color": {"code": 1, "family": "appearance"},
    "shape": {"code": 2, "family": "appearance"},
    "shift": {"code": 3, "family": "position"},
    "tilt": {"code": 4, "family": "position"},
    "pause": {"code": 5, "family": "motion"},
    "speed": {"code": 6, "family": "motion"},
    "order": {"code": 7, "family": "logic"},
    "missing_step": {"code": 8, "family": "logic"},
    "sorting": {"code": 9, "family": "logic"},
    "missing_part": {"code": 10, "family": "logic"},
}
TIMELINE_TYPES = ("pause", "speed", "order", "missing_step")
LOOK_TYPES = ("color", "shape", "shift", "tilt", "sorting", "missing_part")
CODE_TO_NAME = {v["code"]: k for k, v in ANOMALY_TYPES.items()}


@dataclass(frozen=True)
class Look:
    """How one cycle's workpiece/part is drawn. Normal looks carry small natural variation."""

    color: tuple[int, int, int]
    kind: str
    dx: float = 0.0
    dy: float = 0.0
    angle: float = 0.0
    sort_wrong: bool = False
    missing: bool = False
    anomaly: str | None = None  # type name when this look is anomalous

    def with_anomaly(self, anomaly: str | None, /, **changes) -> Look:
        return replace(self, anomaly=anomaly, **changes)


class LookBook:
    """Per-cycle looks; records which anomaly types the device drew in the current frame."""

    def __init__(self, looks: dict[int, Look], default):
        self._looks = looks
        self._default = default  # cycle -> normal Look (for cycles outside the video, e.g. items already on a belt)
        self.drawn: set[str] = set()

    def __getitem__(self, cycle: int) -> Look:
        look = self._looks.get(cycle) or self._default(cycle)
        if look.anomaly:
            self.drawn.add(look.anomaly)
        return look

    def start_frame(self) -> None:
        self.drawn = set()
