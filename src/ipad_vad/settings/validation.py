"""``validation:``: what `ipad data validate` does with footage that fails its checks."""

from __future__ import annotations

from typing import Literal

from ._base import NonNeg, Section


class Validation(Section):
    on_failure: Literal["fail", "exclude"] = "fail"  # exclude: drop offending videos/scenes and list them
    sample_decode: NonNeg = 3  # frames per video fully decoded (all are checked structurally)
    report_dir: str = "reports/validation"
