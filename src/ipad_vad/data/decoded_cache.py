"""Reading the decoded cache the preprocess stage writes (``preprocess/cache.py``): every video of a
scene as an uncompressed uint8 ``.npy`` (T, H, W, 3) that training reads memory-mapped.

Layout: ``<cache_root>/<scene>/<split>_<NN>.npy`` and ``index.json`` (video -> frames, size). The
reader lives in the data layer beside the other frame sources (JPEG folders, video files) so that the
clip dataset reads cached footage without importing the stage that writes it (issue 28).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import DataError


def cache_file(root: Path, scene: str, split: str, video: str) -> Path:
    return Path(root) / scene / f"{split}_{video}.npy"


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
