"""What the data layer knows about footage being scored: a frame folder has no frame rate of its own
and `ipad score` reads no labels, but where the folder is a video of the validated manifest
(``data.manifest``) its fps and, for a labelled test video, its per-frame labels are known - so the
plot can give seconds and show the labelled anomalous frames beside the alerts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class FootageContext:
    fps: float | None = None
    labels: np.ndarray | None = None  # per frame, 1 = labelled anomalous
    source: str = ""  # where it came from (the manifest row's video)


def manifest_context(manifest: str | Path | None, footage: str | Path) -> FootageContext:
    """The manifest row of `footage` (matched by its resolved frame folder), or an empty context."""
    if not manifest or not Path(manifest).is_file():
        return FootageContext()
    from ..data.labels import load_labels
    from ..io_utils import read_dataframe

    df = read_dataframe(manifest)
    target = Path(footage).resolve()
    hit = df[[Path(d).resolve() == target for d in df.frames_dir]]
    if hit.empty:
        return FootageContext()
    row = hit.iloc[0]
    fps = float(row.fps) if row.fps == row.fps and row.fps else None  # NaN or 0: unknown
    labels = None
    if row.label_path and row.split == "testing":
        try:
            labels = np.asarray(load_labels(row.label_path, row.video)).astype(int)
        except Exception:  # noqa: BLE001 - a label problem is validation's business; the plot just omits them
            labels = None
    return FootageContext(fps, labels, f"{row.scene}/{row.split}/{row.video}")
