"""The IPAD layout on disk (DESIGN §3)::

    <root>/<scene>/training/frames/<NN>/<int>.jpg
    <root>/<scene>/testing/frames/<NN>/<int>.jpg
    <root>/<scene>/calibration/frames/<NN>/<int>.jpg # optional (this project's, issue 26): long normal
                                                 # footage the alert threshold is set on, never trained on
    <root>/<scene>/test_label/<NNN>.npy          # 001.npy <-> testing video 01
    <root>/<scene>/<scene>.mat                   # alternative: key `gt`, one array per test video
    <root>/<scene>/periods/<split>_<NN>.json     # the project's own period annotations
    <root>/<scene>/sources.json                  # written by `ipad data import`: where each video came from

Scene names are free (S01..S12/R01..R04 in IPAD, anything else for your own footage); video
folders are numbers. Labels are looked up by number, so `001.npy`, `01.npy` and `1.npy` all match
video `01`; a `.npy` file wins over the `.mat` alternative when both exist.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError

SPLITS = ("training", "testing", "calibration")
NORMAL_SPLITS = ("training", "calibration")  # footage that is normal by definition: no anomalous label allowed
# a scene becomes a folder, DVC stage names (`evaluate@<scene>`) and a registered model (`ipad-vad-<scene>`)
SCENE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def scene_name_problem(name: str, fix: str = "; rename the folder or pass --scene") -> str | None:
    """Why `name` cannot be a scene, followed by `fix`, how to mend it (None when it can be)."""
    if SCENE_NAME.match(str(name)):
        return None
    return (
        f"scene name {str(name)!r} is not allowed: use letters, digits, '.', '_' and '-', starting with a "
        f"letter or digit (it becomes a folder, DVC stage names and a registered model name){fix}"
    )


@dataclass(frozen=True)
class VideoEntry:
    scene: str
    split: str
    video: str  # folder name, e.g. "01"
    frames_dir: Path
    label_path: Path | None
    period_path: Path | None

    @property
    def key(self) -> str:
        return f"{self.scene}/{self.split}/{self.video}"


def label_file_name(video: str) -> str:
    """IPAD's label file for test video `video`: '01' -> '001.npy'."""
    return f"{int(video):03d}.npy"


def period_file_name(split: str, video: str) -> str:
    return f"{split}_{video}.json"


def is_ipad_tree(root: str | Path) -> bool:
    root = Path(root)
    return root.is_dir() and any((d / s / "frames").is_dir() for d in root.iterdir() if d.is_dir() for s in SPLITS)


def list_scenes(root: str | Path) -> list[str]:
    root = Path(root)
    return sorted(d.name for d in root.iterdir() if d.is_dir() and any((d / s / "frames").is_dir() for s in SPLITS))


def _label_for(scene_dir: Path, video: str) -> Path | None:
    label_dir = scene_dir / "test_label"
    if label_dir.is_dir():
        for p in sorted(label_dir.glob("*.npy")):
            if p.stem.isdigit() and int(p.stem) == int(video):
                return p
    mats = sorted(scene_dir.glob("*.mat"))
    return mats[0] if mats else None


def scan_ipad(root: str | Path, scenes: list[str] | None = None) -> list[VideoEntry]:
    """Every video of the tree (optionally only `scenes`), sorted by scene, split, number."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "data folder does not exist")
    present = list_scenes(root)
    if scenes:
        missing = [s for s in scenes if s not in present]
        if missing:
            raise DataError(root, f"scenes not found: {missing} (present: {present})")
        present = [s for s in present if s in scenes]
    entries: list[VideoEntry] = []
    for scene in present:
        scene_dir = root / scene
        for split in SPLITS:
            frames_root = scene_dir / split / "frames"
            if not frames_root.is_dir():
                continue
            for vdir in frames_root.iterdir():
                if not vdir.is_dir() or vdir.name.startswith("."):
                    continue
                if not vdir.name.isdigit():
                    raise DataError(vdir, "video folder name is not a number (expected frames/<NN>/)")
                period = scene_dir / "periods" / period_file_name(split, vdir.name)
                entries.append(
                    VideoEntry(
                        scene=scene,
                        split=split,
                        video=vdir.name,
                        frames_dir=vdir,
                        label_path=_label_for(scene_dir, vdir.name) if split == "testing" else None,
                        period_path=period if period.is_file() else None,
                    )
                )
    entries.sort(key=lambda e: (e.scene, SPLITS.index(e.split), int(e.video)))
    if not entries:
        raise DataError(root, "no videos found (expected <scene>/training|testing/frames/<NN>/)")
    return entries


TYPE_NAMES_FILE = "anomaly_types.json"


def type_names_file(root: str | Path, scene: str) -> Path | None:
    """Where a scene declares the names of its ``test_types`` codes: ``<scene>/anomaly_types.json``,
    else ``anomaly_types.json`` at the data root (as the generator writes it); None when neither."""
    for p in (Path(root) / scene / TYPE_NAMES_FILE, Path(root) / TYPE_NAMES_FILE):
        if p.is_file():
            return p
    return None


def read_type_names(root: str | Path, scene: str) -> dict[int, str]:
    """{code: name} of the scene's anomaly types, as the footage declares them ({name: {"code": c,
    ...}}). Empty when it declares none: types are then shown by their code, never under the names
    of another dataset (issue 16)."""
    p = type_names_file(root, scene)
    if p is None:
        return {}
    try:
        data = json.loads(p.read_text())
        return {int(v["code"]): str(name) for name, v in data.items()}
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise DataError(p, f'anomaly type names must be {{name: {{"code": <int>, ...}}}}: {e}') from None


def read_sources(scene_dir: Path) -> dict:
    """`sources.json` of a scene: {"<split>/<NN>": {"source": ..., "sha256": ..., "fps": ...}}."""
    p = Path(scene_dir) / "sources.json"
    if not p.is_file():
        return {}
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise DataError(p, f"not valid JSON: {e}") from e
