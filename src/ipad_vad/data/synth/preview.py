"""`ipad data preview`: a contact sheet of a generated (or any IPAD-layout) dataset — per scene,
normal training frames next to anomalous test frames captioned with their anomaly type. It reads
the data back through the project's own reader, so it also shows what the pipeline will see."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ...io_utils import atomic_path
from ..frames import JpegFolderSource
from ..layout import label_file_name, list_scenes, scan_ipad
from .anomalies import CODE_TO_NAME


def _anomalous_examples(scene_dir: Path, entries, max_types: int) -> list[tuple[np.ndarray, str]]:
    out, seen = [], set()
    for e in entries:
        if e.split != "testing":
            continue
        types_path = scene_dir / "test_types" / label_file_name(e.video)
        if not types_path.is_file():
            continue
        types = np.load(types_path)
        src = JpegFolderSource(e.frames_dir)
        for code in [c for c in np.unique(types) if c and c not in seen]:
            idx = np.flatnonzero(types == code)
            # the middle of the first labelled span of this type
            span_end = idx[np.argmax(np.diff(np.append(idx, idx[-1] + 2)) > 1)]
            mid = (idx[0] + span_end) // 2
            out.append((src.read([int(mid)])[0], f"{CODE_TO_NAME.get(int(code), code)} ({e.video}:{mid})"))
            seen.add(code)
            if len(out) >= max_types:
                return out
    return out


def tile_sheet(
    rows: list[tuple[str, list[tuple[np.ndarray, str, str]]]], title: str, out: str | Path, tile: float = 1.6
) -> Path:
    """A PNG grid: one row per (row label, tiles), each tile (image, caption, caption colour)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    cols = max(len(t) for _, t in rows)
    fig, axes = plt.subplots(len(rows), cols, figsize=(tile * cols, (tile + 0.15) * len(rows)), squeeze=False)
    for r, (label, tiles) in enumerate(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
            if c < len(tiles):
                img, caption, colour = tiles[c]
                ax.imshow(img, interpolation="nearest", cmap=None if img.ndim == 3 else "magma")
                ax.set_title(caption, fontsize=6, color=colour)
            if c == 0:
                ax.set_ylabel(label, fontsize=7)
                ax.yaxis.set_visible(True)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return out


def contact_sheet(
    root: str | Path, out: str | Path, scenes: list[str] | None = None, n_normal: int = 3, n_anomalous: int = 5
) -> Path:
    root, out = Path(root), Path(out)
    scenes = scenes or list_scenes(root)
    rows = []
    for scene in scenes:
        entries = scan_ipad(root, [scene])
        meta_p = root / scene / "scene.json"
        meta = json.loads(meta_p.read_text()) if meta_p.is_file() else {}
        train = next(e for e in entries if e.split == "training")
        src = JpegFolderSource(train.frames_dir)
        idx = np.linspace(0, len(src) - 1, n_normal + 2)[1:-1].astype(int)
        tiles = [(f, f"normal ({train.video}:{i})", "black") for f, i in zip(src.read(idx), idx)]
        tiles += [(f, t, "crimson") for f, t in _anomalous_examples(root / scene, entries, n_anomalous)]
        rows.append((f"{scene}\n{meta.get('device', '')}", tiles))
    return tile_sheet(rows, f"{root}: normal (black) vs anomalous (red) frames", out)
