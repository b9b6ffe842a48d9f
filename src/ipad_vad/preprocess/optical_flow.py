"""Dense optical flow per scene (OpenCV): DIS by default (fast), TV-L1 as the seed-002 option.

Stored compactly: float16, at a reduced resolution (``flow_size``), one field per frame (the first
frame's is zero), plus the per-frame **motion energy** (mean flow magnitude) that period estimation
reads. Layout: ``<flow_root>/<scene>/<split>_<NN>.flow.npy`` and ``<split>_<NN>.energy.npy``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import cv2
import numpy as np

from ..data.decoded_cache import CachedSource, read_index
from ..errors import ConfigError
from ..io_utils import atomic_dir, write_json


def make_flow(method: str):
    if method == "dis":
        return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    if method == "tvl1":
        return cv2.optflow.DualTVL1OpticalFlow_create()
    raise ConfigError(f"optical_flow.method must be 'dis' or 'tvl1', got {method!r}")


def dense_flow(
    frames: np.ndarray, method: str = "dis", size: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(T, H, W, 3) uint8 RGB -> flow (T, h, w, 2) float16 and motion energy (T,) float32."""
    algo = make_flow(method)
    h, w = size or frames.shape[1:3]
    grey = [cv2.resize(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (w, h), interpolation=cv2.INTER_AREA) for f in frames]
    flow = np.zeros((len(frames), h, w, 2), np.float16)
    energy = np.zeros(len(frames), np.float32)
    for t in range(1, len(frames)):
        f = algo.calc(grey[t - 1], grey[t], None)
        flow[t] = f.astype(np.float16)
        energy[t] = float(np.sqrt((f**2).sum(-1)).mean())
    if len(frames) > 1:
        energy[0] = energy[1]
    return flow, energy


def clip_flow(frames: np.ndarray, method: str, size: tuple[int, int]) -> np.ndarray:
    """Flow fields (T - 1, h, w, 2) float32 between consecutive frames of `frames` (T, H, W, 3) uint8: the
    prepare stage's flow of a clip's own frames, for what scores from frames alone (a method's regions,
    temporal pseudo-anomalies): ``ipad score`` and a live stream have no prepared flow files."""
    return dense_flow(frames, method, tuple(size))[0][1:].astype(np.float32)


def flow_scene(
    cache_root: str | Path,
    scene: str,
    flow_root: str | Path,
    method: str = "dis",
    size: tuple[int, int] | None = (32, 32),
    progress: Callable[[Iterable, int, str], Iterable] | None = None,
) -> dict:
    index = read_index(cache_root, scene)
    target = Path(flow_root) / scene
    if target.exists():
        shutil.rmtree(target)
    keys = list(index["videos"])
    it: Iterable = progress(keys, len(keys), f"optical flow {scene}") if progress else keys
    with atomic_dir(target) as tmp:
        for key in it:
            split, video = key.split("/")
            frames = CachedSource(Path(cache_root) / scene / f"{split}_{video}.npy").read(
                range(index["videos"][key]["n_frames"])
            )
            flow, energy = dense_flow(frames, method, size)
            np.save(tmp / f"{split}_{video}.flow.npy", flow)
            np.save(tmp / f"{split}_{video}.energy.npy", energy)
        write_json(
            tmp / "index.json", {"scene": scene, "method": method, "size": list(size) if size else None, "videos": keys}
        )
    return {"scene": scene, "videos": len(keys), "method": method}
