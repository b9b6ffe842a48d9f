"""Frame-level labels: `test_label/<NNN>.npy` (IPAD) or `<scene>.mat` with key `gt` (INFP/ASTNet).

Labels are returned as uint8 0/1 arrays, one value per frame. Anything else — values other than
0/1, non-numeric dtypes, 2-D arrays, an unreadable file (empty, cut off, not .npy) — raises DataError naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError


def normalize_labels(arr, path: str | Path) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise DataError(path, f"labels must be numeric 0/1, got dtype {arr.dtype}")
    arr = np.squeeze(arr)
    if arr.ndim != 1:
        raise DataError(path, f"labels must be one value per frame (1-D), got shape {arr.shape}")
    values = np.unique(arr)
    bad = [v for v in values.tolist() if v not in (0, 1)]
    if bad:
        raise DataError(path, f"labels must be 0/1, found other values {bad[:5]}")
    return arr.astype(np.uint8)


def load_npy_labels(path: str | Path) -> np.ndarray:
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise DataError(path, "cannot read label file: it is empty (0 bytes)")
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:  # np.load raises EOFError for an empty or cut-off file
        raise DataError(path, f"cannot read label file: {e or type(e).__name__}") from e
    return normalize_labels(arr, path)


def load_mat_labels(path: str | Path) -> list[np.ndarray]:
    """All label arrays of a `.mat` file's `gt` entry, in test-video order (01, 02, ...)."""
    import scipy.io

    path = Path(path)
    try:
        mat = scipy.io.loadmat(path)
    except Exception as e:  # scipy raises several types for broken files
        raise DataError(path, f"cannot read .mat label file: {e}") from e
    if "gt" not in mat:
        raise DataError(path, f"no 'gt' key in .mat file (keys: {[k for k in mat if not k.startswith('__')]})")
    gt = mat["gt"]
    if gt.dtype == object:
        items = list(gt.ravel())
    else:  # a single numeric array: one video
        items = [gt]
    return [normalize_labels(x, f"{path}:gt[{i}]") for i, x in enumerate(items)]


def load_labels(path: str | Path, video: str) -> np.ndarray:
    """Labels of test video `video` ('01') from its label file (.npy, or .mat indexed by number)."""
    path = Path(path)
    if path.suffix == ".mat":
        all_labels = load_mat_labels(path)
        k = int(video) - 1
        if not 0 <= k < len(all_labels):
            raise DataError(path, f"no labels for video {video}: 'gt' holds {len(all_labels)} videos")
        return all_labels[k]
    return load_npy_labels(path)
