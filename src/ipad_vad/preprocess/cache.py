"""The decoded cache: every video of a scene decoded once, resized to the profile's frame size and
stored as an uncompressed uint8 ``.npy`` (T, H, W, 3) that training reads memory-mapped, so the data
loader does no JPEG decoding at all.

Layout: ``<cache_root>/<scene>/<split>_<NN>.npy`` and ``index.json`` (video -> frames, size). The
scene folder is written to a temporary folder and renamed into place. Its reader
(``CachedSource``, ``read_index``) is ``data/decoded_cache.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.frames import JpegFolderSource
from ..errors import DataError
from ..io_utils import atomic_dir, write_json


def cache_scene(
    manifest: pd.DataFrame,
    scene: str,
    size: tuple[int, int],
    cache_root: str | Path,
    chunk: int = 256,
    progress: Callable[[Iterable, int, str], Iterable] | None = None,
) -> dict:
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
            arr = np.lib.format.open_memmap(
                tmp / f"{r.split}_{r.video}.npy", mode="w+", dtype=np.uint8, shape=(n, size[0], size[1], 3)
            )
            for s in range(0, n, chunk):
                arr[s : s + chunk] = src.read(range(s, min(n, s + chunk)))
            arr.flush()
            del arr
            index[f"{r.split}/{r.video}"] = {"n_frames": n, "size": list(size), "frames_dir": r.frames_dir}
        write_json(tmp / "index.json", {"scene": scene, "size": list(size), "videos": index})
    return {"scene": scene, "videos": len(index), "frames": sum(v["n_frames"] for v in index.values())}
