"""New footage from a landing folder into the footage dataset.

Landing layout: ``<landing>/<device>/<split>/<name>.mp4`` (split: training | testing, test videos
with ``<name>.npy`` labels beside them) or ``<landing>/<device>/<name>.mp4`` (training). Each
device's files go through the importer (validated per video, quarantined when bad, sha256-recorded so
that the same file is never ingested twice). Versioning with DVC and rerunning the affected stages
is the orchestration's part (tasks/ingest.py): this only says which devices changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..data.importer import import_source
from ..errors import DataError


@dataclass
class IngestResult:
    imported: dict[str, list[dict]] = field(default_factory=dict)  # device -> imported videos
    unchanged: int = 0
    quarantined: list[dict] = field(default_factory=list)

    @property
    def devices(self) -> list[str]:
        return sorted(d for d, v in self.imported.items() if v)


def ingest_landing(
    landing: str | Path, data_root: str | Path, devices: list[str] | None = None, min_frames: int = 16
) -> IngestResult:
    landing = Path(landing)
    if not landing.is_dir():
        raise DataError(landing, "landing folder does not exist")
    result = IngestResult()
    for device_dir in sorted(p for p in landing.iterdir() if p.is_dir() and not p.name.startswith(".")):
        device = device_dir.name
        if devices is not None and device not in devices:
            continue
        try:
            rep = import_source(device_dir, data_root, scene=device, split="training", min_frames=min_frames)
        except DataError as e:
            if "no video files" in e.problem:
                continue
            raise
        result.imported[device] = rep.imported + rep.relabelled  # corrected labels are new data too
        result.unchanged += len(rep.unchanged)
        result.quarantined += rep.quarantined
    return result
