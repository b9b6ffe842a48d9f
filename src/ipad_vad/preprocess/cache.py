"""The decoded cache: every video of a scene decoded once, resized to the profile's frame size and
stored as an uncompressed uint8 ``.npy`` (T, H, W, 3) that training reads memory-mapped, so the data
loader does no JPEG decoding at all.

Layout: ``<cache_root>/<scene>/<split>_<NN>.npy`` and ``index.json`` (video -> frames, size). The
scene folder is written to a temporary folder and renamed into place.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from ..data.frames import JpegFolderSource
from ..errors import DataError
from ..io_utils import atomic_dir, write_json


def cache_file(root: Path, scene: str, split: str, video: str) -> Path:
    return Path(root) / scene / f"{split}_{video}.npy"


def cache_scene(manifest: pd.DataFrame, scene: str, size: tuple[int, int], cache_root: str | Path,
                chunk: int = 256, progress: Callable[[Iterable, int, str], Iterable] | None = None) -> dict:
    rows = manifest[manifest.scene == scene]
    if rows.empty:
        raise DataError(cache_root, f"scene {scene!r} is not in the manifest")
    target = Path(cache_root) / scene
    if target.exists():
        shutil.rmtree(target)
    index = {}
    it: Iterable = rows.itertuples(index=False)
    if progress:
        it = progress(it, len(rows), f"caching {scene}")
    with atomic_dir(target) as tmp:
        for r in it:
            src = JpegFolderSource(Path(r.frames_dir), size=tuple(size))
            n = len(src)
            arr = np.lib.format.open_memmap(tmp / f"{r.split}_{r.video}.npy", mode="w+", dtype=np.uint8,
                                            shape=(n, size[0], size[1], 3))
            for s in range(0, n, chunk):
                arr[s : s + chunk] = src.read(range(s, min(n, s + chunk)))
            arr.flush()
            del arr
            index[f"{r.split}/{r.video}"] = {"n_frames": n, "size": list(size), "frames_dir": r.frames_dir}
        write_json(tmp / "index.json", {"scene": scene, "size": list(size), "videos": index})
    return {"scene": scene, "videos": len(index), "frames": sum(v["n_frames"] for v in index.values())}


class CachedSource:
    """A cached video: ``read(indices)`` slices the memory-mapped array (no decoding)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(self.path, "cached video not found (run the preprocess stage)")
        self._arr = None
        self._len = int(np.load(self.path, mmap_mode="r").shape[0])

    def _array(self):
        if self._arr is None:  # opened lazily, so each DataLoader worker maps it itself
            self._arr = np.load(self.path, mmap_mode="r")
        return self._arr

    def __getstate__(self):
        return {**self.__dict__, "_arr": None}

    def __len__(self) -> int:
        return self._len

    def read(self, indices) -> np.ndarray:
        arr = self._array()
        if isinstance(indices, range) and indices.step == 1:
            return np.array(arr[indices.start : indices.stop])
        return np.array(arr[list(indices)])


def read_index(cache_root: str | Path, scene: str) -> dict:
    p = Path(cache_root) / scene / "index.json"
    if not p.is_file():
        raise DataError(p, "cache index not found (run the preprocess stage)")
    return json.loads(p.read_text())
