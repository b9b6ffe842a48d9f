"""Tiny IPAD trees and videos built inside the tests (nothing downloaded)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

H, W = 24, 32


def frame(i: int, scene_seed: int = 0) -> np.ndarray:
    """A BGR frame whose content encodes its number: a square moving with i, background by scene."""
    f = np.full((H, W, 3), 30 + (3 * i) % 180 + 20 * scene_seed, np.uint8)  # unique per frame
    x = (i * 3) % (W - 8)
    f[8:16, x : x + 8] = (0, 0, 230)
    f[0, 0] = (i % 256, 0, 0)
    return f


def write_frames(folder: Path, n: int, padded: bool = False, scene_seed: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        name = f"{i:03d}.jpg" if padded else f"{i}.jpg"
        cv2.imwrite(str(folder / name), frame(i, scene_seed))


def make_ipad_tree(
    root: Path,
    scenes=("S01", "R01"),
    n_train=2,
    n_test=2,
    n_frames=40,
    padded_scene: str | None = "R01",
    periods: bool = True,
) -> Path:
    """Training videos all normal; test video k has frames [10, 20) anomalous for odd k."""
    for si, scene in enumerate(scenes):
        sd = root / scene
        padded = scene == padded_scene
        for v in range(1, n_train + 1):
            write_frames(sd / "training" / "frames" / f"{v:02d}", n_frames, padded, si)
        for v in range(1, n_test + 1):
            write_frames(sd / "testing" / "frames" / f"{v:02d}", n_frames, padded, si)
            labels = np.zeros(n_frames, np.uint8)
            if v % 2 == 1:
                labels[10:20] = 1
            (sd / "test_label").mkdir(parents=True, exist_ok=True)
            np.save(sd / "test_label" / f"{v:03d}.npy", labels)
        if periods:
            (sd / "periods").mkdir(parents=True, exist_ok=True)
            for split, n in (("training", n_train), ("testing", n_test)):
                for v in range(1, n + 1):
                    (sd / "periods" / f"{split}_{v:02d}.json").write_text(
                        json.dumps({"cycle_starts": list(range(0, n_frames, 10)), "fps": 25.0})
                    )
    return root


def write_video(path: Path, n: int, fourcc: str = "FFV1", fps: float = 25.0) -> list[np.ndarray]:
    """Write `n` frames with OpenCV; returns them as RGB (what decord returns)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (W, H))
    assert w.isOpened(), f"cannot open writer for {path}"
    frames = [frame(i) for i in range(n)]
    for f in frames:
        w.write(f)
    w.release()
    return [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames]


def build_model(name: str, params: dict, clip_len: int | None = None, drop_path: float | None = None):
    """A method's fresh nn.Module from a params dict (e.g. the smoke profile), optionally with
    another clip length or encoder drop-path."""
    import copy

    from ipad_vad.methods import get_method

    p = copy.deepcopy(params)
    if clip_len:
        p["clip"]["length"] = clip_len
    if drop_path is not None:
        p["model"]["encoder"]["drop_path"] = drop_path
    return get_method(name, p).build()


class ArraySource:
    """Frames held in memory as a clip dataset's frame source."""

    def __init__(self, frames):
        self.frames = frames

    def __len__(self):
        return len(self.frames)

    def read(self, idx):
        return self.frames[list(idx)]
