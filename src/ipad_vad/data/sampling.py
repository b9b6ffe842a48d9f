"""Take a fraction of a scene's training clips (the paper fine-tunes on 1/5 of the real data, §5.4).

``contiguous`` (default) keeps the first ``ceil(fraction * n)`` clips of every video: what a factory
gets when it records a shorter session, whole cycles in order. ``random`` keeps a uniform random
subset of each video's clips. Both are deterministic per seed; the order within the subset is
reshuffled every epoch (``set_epoch``) when ``shuffle`` is on.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import Sampler

from .clip_dataset import ClipDataset


class FractionSampler(Sampler[int]):
    def __init__(
        self, dataset: ClipDataset, fraction: float, mode: str = "contiguous", seed: int = 0, shuffle: bool = True
    ):
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        if mode not in ("contiguous", "random"):
            raise ValueError(f"mode must be 'contiguous' or 'random', got {mode!r}")
        self.seed, self.shuffle, self.epoch = seed, shuffle, 0
        g = torch.Generator().manual_seed(seed)
        chosen: list[int] = []
        for clips in dataset.video_slices:
            n = len(clips)
            if n == 0:
                continue
            k = max(1, math.ceil(fraction * n))
            if mode == "contiguous":
                chosen.extend(clips[:k])
            else:
                pick = torch.randperm(n, generator=g)[:k].sort().values.tolist()
                chosen.extend(clips[j] for j in pick)
        self.indices = chosen

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self):
        if not self.shuffle:
            return iter(self.indices)
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter([self.indices[j] for j in torch.randperm(len(self.indices), generator=g).tolist()])


def contiguous_share_ends(dataset: ClipDataset, fraction: float) -> dict[int, int]:
    """For each video (by index) the frame after the last one that the contiguous `fraction` of its
    clips covers: adaptation sees frames before it, calibration the frames from it on."""
    ends: dict[int, int] = {}
    for i in FractionSampler(dataset, fraction, "contiguous", shuffle=False).indices:
        vi, start = dataset.index[i]
        ends[vi] = max(ends.get(vi, 0), start + dataset.clip_len)
    return ends


def restrict_to_share(dataset: ClipDataset, ends: dict[int, int], stride: int) -> ClipDataset:
    """The clips at `stride` of `dataset`'s videos that lie before `ends` (see contiguous_share_ends)."""
    import dataclasses

    videos = []
    for vi, v in enumerate(dataset.videos):
        lo, hi = v.span or (0, len(v.source))
        videos.append(dataclasses.replace(v, span=(lo, min(hi, ends.get(vi, lo)))))
    return ClipDataset(videos, clip_len=dataset.clip_len, stride=stride)
