"""PyTorch clip dataset over any frame source (frame folders, video files, later the decoded cache).

A clip is `clip_len` consecutive frames starting every `stride` frames; it is labelled by its centre
frame ``start + clip_len // 2``. For the paper's 16-frame clips that is frame ``start + 8``, so the
clip labels of a video are exactly ``labels[8:len-7]`` as in the official evaluate.py.

Each item is a dict:
  clip        float32 (3, T, H, W) scaled to [-1, 1]
  center      centre frame index in its video
  label       centre frame label (0/1), -1 when the video has no labels
  frame_labels  (T,) labels of every frame of the clip (-1 when unknown)
  phase       centre frame phase in its cycle in [0, 1), NaN when unknown
  type        centre frame anomaly type code (``test_types/``), -1 when unknown
  video_index index of the video in ``dataset.videos``
  video_len   frames in that video
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch.utils.data import Dataset

from .frames import JpegFolderSource
from .labels import load_labels
from .layout import label_file_name
from .manifest import FALSE_ALARM_ORIGIN
from .periods import frame_phases, read_period_file


class FrameSource(Protocol):
    def __len__(self) -> int: ...
    def read(self, indices) -> np.ndarray: ...


@dataclass
class VideoRecord:
    source: FrameSource
    scene: str = ""
    split: str = ""
    video: str = ""
    labels: np.ndarray | None = None
    phases: np.ndarray | None = None
    types: np.ndarray | None = None
    span: tuple[int, int] | None = None  # clips only within [first, last) frames, e.g. whole cycles
    origin: str = ""  # the manifest's origin: "" footage | operator feedback (FALSE_ALARM_ORIGIN, "confirmed")
    origin_frames: tuple[int, int] | None = None  # operator feedback: the alert's own frames (inclusive; None: all)

    @property
    def marked_false_alarm(self) -> bool:
        """Footage an operator marked a false alarm (``ipad alerts export``): normal by the operator's word."""
        return self.origin == FALSE_ALARM_ORIGIN

    def marked_frames(self, first: int, last: int) -> bool:
        """Whether frames `first`..`last` hold one the operator judged a false alarm: one of the marked
        alert's own frames (the context exported around them is footage like any other); any frame of
        the recording when the export did not record the alert's (``origin_frames`` None)."""
        if not self.marked_false_alarm:
            return False
        return self.origin_frames is None or (first <= self.origin_frames[1] and last >= self.origin_frames[0])


def to_clip_tensor(frames: np.ndarray) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (3, T, H, W) float32 in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2).float()
    return x.div_(127.5).sub_(1.0)


class ClipDataset(Dataset):
    def __init__(self, videos: list[VideoRecord], clip_len: int = 16, stride: int = 1):
        if clip_len < 1 or stride < 1:
            raise ValueError("clip_len and stride must be >= 1")
        self.videos = videos
        self.clip_len = clip_len
        self.stride = stride
        self.index: list[tuple[int, int]] = []  # (video index, first frame)
        self.video_slices: list[range] = []  # clip indices of each video
        for vi, v in enumerate(videos):
            first = len(self.index)
            lo, hi = v.span or (0, len(v.source))
            self.index.extend((vi, s) for s in range(lo, hi - clip_len + 1, stride))
            self.video_slices.append(range(first, len(self.index)))

    def __len__(self) -> int:
        return len(self.index)

    def center_of(self, i: int) -> int:
        return self.index[i][1] + self.clip_len // 2

    def __getitem__(self, i: int) -> dict:
        vi, start = self.index[i]
        v = self.videos[vi]
        center = start + self.clip_len // 2
        frames = v.source.read(range(start, start + self.clip_len))
        if v.labels is not None:
            frame_labels = torch.as_tensor(v.labels[start : start + self.clip_len], dtype=torch.long)
            label = int(v.labels[center])
        else:
            frame_labels = torch.full((self.clip_len,), -1, dtype=torch.long)
            label = -1
        phase = float(v.phases[center]) if v.phases is not None else float("nan")
        return {
            "type": int(v.types[center]) if v.types is not None else -1,
            "video_len": len(v.source),
            "clip": to_clip_tensor(frames),
            "center": center,
            "label": label,
            "frame_labels": frame_labels,
            "phase": phase,
            "video_index": vi,
        }

    @classmethod
    def from_manifest(
        cls,
        manifest,
        split: str,
        scenes: list[str] | None = None,
        size: tuple[int, int] | None = None,
        clip_len: int = 16,
        stride: int = 1,
        cache_root: str | Path | None = None,
        periods_root: str | Path | None = None,
        crop_to_cycles: bool = False,
    ) -> ClipDataset:
        """Clips of the manifest's videos of `split` (and `scenes`), frames resized to `size`.

        With `cache_root` frames come from the preprocess stage's memory-mapped cache (already at
        the profile's size); with `periods_root` phases come from the period stage (annotated or
        estimated starts), and `crop_to_cycles` keeps only clips inside whole cycles."""
        rows = manifest[manifest.split == split]
        if scenes is not None:
            rows = rows[rows.scene.isin(scenes)]
        videos = []
        for r in rows.itertuples(index=False):
            if cache_root is not None:
                from .decoded_cache import CachedSource, cache_file

                src = CachedSource(cache_file(Path(cache_root), r.scene, r.split, r.video))
            else:
                src = JpegFolderSource(Path(r.frames_dir), size=tuple(size) if size else None)
            labels = load_labels(r.label_path, r.video) if r.label_path else None
            phases, span = None, None
            if periods_root is not None:
                per = read_period_file(Path(periods_root) / r.scene / f"{r.split}_{r.video}.json")
                phases = frame_phases(per["cycle_starts"], len(src))
                if crop_to_cycles and "crop" in per:
                    span = tuple(per["crop"])
            elif r.period_path:
                phases = frame_phases(read_period_file(r.period_path)["cycle_starts"], len(src))
            types_path = Path(r.frames_dir).parents[2] / "test_types" / label_file_name(r.video)
            types = np.load(types_path) if split == "testing" and types_path.is_file() else None
            origin = getattr(r, "origin", "")  # a manifest written before the column existed: footage
            origin = origin if isinstance(origin, str) else ""
            marked = getattr(r, "origin_frames", "")  # "first-last" | "" (all of it; or written before the column)
            marked = tuple(int(f) for f in marked.split("-")) if isinstance(marked, str) and marked else None
            videos.append(VideoRecord(src, r.scene, r.split, r.video, labels, phases, types, span, origin, marked))
        return cls(videos, clip_len=clip_len, stride=stride)
