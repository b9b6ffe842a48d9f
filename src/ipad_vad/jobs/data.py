"""Which footage a job reads, said explicitly.

* ``DataSource.PREPARED``: the pipeline's prepared data (``jobs/layout.py``): frames from the decoded
  cache of the preprocess stage, phases and whole-cycle crops from the period stage. A cache that does
  not match the manifest is an error, never silently mixed with its labels. What every pipeline job
  reads.
* ``DataSource.FRAMES``: the frame folders of the manifest, resized on the fly, phases from the
  period annotations where present. What ``ipad method ...`` reads by default (no pipeline needed).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.clip_dataset import ClipDataset
from ..data.manifest import scene_rows
from ..data.periods import read_period_file
from ..data.sampling import contiguous_share_ends
from ..errors import DataError
from .layout import prepared


class DataSource(enum.StrEnum):
    PREPARED = "prepared"
    FRAMES = "frames"


def clip_dataset(
    params: dict, manifest: pd.DataFrame, split: str, scenes: list[str], source: DataSource, stride: int | None = None
) -> ClipDataset:
    """Clips of `scenes` of `split`. Training clips start every ``clip.train_stride`` frames (and,
    from prepared data, stay inside whole cycles); test clips every ``clip.stride``."""
    c = params["clip"]
    length, size = int(c["length"]), tuple(c["size"])
    stride = stride or int(c["train_stride"] if split == "training" else c["stride"])
    missing = sorted(set(scenes) - set(manifest.scene))
    if missing:
        raise DataError("manifest", f"scenes not in the validated manifest: {missing}")
    videos = []
    for scene in scenes:
        cache = periods = None
        if DataSource(source) is DataSource.PREPARED:
            cache, periods = prepared(params, scene, "cache"), prepared(params, scene, "periods")
            if not (cache / scene).is_dir():
                raise DataError(
                    cache / scene,
                    f"no prepared data for scene {scene} (run `ipad prepare --scene {scene}`, "
                    "or read the frame folders: --data frames)",
                )
            check_cache(cache, scene, scene_rows(manifest, scene, split))
            if not (periods / scene).is_dir():
                raise DataError(
                    periods / scene, f"no period data for scene {scene} (run `ipad prepare --scene {scene}`)"
                )
        videos += ClipDataset.from_manifest(
            manifest,
            split,
            [scene],
            size,
            length,
            stride,
            cache_root=cache,
            periods_root=periods,
            crop_to_cycles=split == "training" and periods is not None,
        ).videos
    return ClipDataset(videos, clip_len=length, stride=stride)


def check_cache(cache_root: Path, scene: str, rows: pd.DataFrame) -> None:
    """The decoded cache must hold exactly the manifest's videos."""
    from ..data.decoded_cache import read_index

    index = read_index(cache_root, scene)["videos"]
    for r in rows.itertuples(index=False):
        got = index.get(f"{r.split}/{r.video}", {}).get("n_frames")
        if got != r.n_frames:
            raise DataError(
                Path(cache_root) / scene,
                f"prepared cache does not match the manifest: {r.split}/{r.video} "
                f"has {r.n_frames} frames in the manifest, {got} in the cache (rerun `ipad prepare --scene {scene}`)",
            )


def prepared_cycle_frames(params: dict, scene: str) -> float | None:
    """A scene's cycle length in frames as the period stage found it; None when it was not prepared."""
    f = prepared(params, scene, "periods") / scene / "periods.json"
    return float(json.loads(f.read_text())["cycle_frames"]) if f.is_file() else None


def scene_cycle_frames(params: dict, manifest: pd.DataFrame, scene: str, source: DataSource) -> float | None:
    """A scene's cycle length in frames: from the period stage (prepared data), else the median of
    the training videos' annotations; None when neither exists."""
    if DataSource(source) is DataSource.PREPARED and (cycle := prepared_cycle_frames(params, scene)) is not None:
        return cycle
    lengths = []
    for p in scene_rows(manifest, scene, "training").period_path:
        if p:
            lengths += np.diff(read_period_file(p)["cycle_starts"]).tolist()
    return float(np.median(lengths)) if lengths else None


def heldout_dataset(
    params: dict,
    manifest: pd.DataFrame,
    scene: str,
    source: DataSource,
    fraction: float,
    fraction_mode: str,
    min_clips: int,
    skip: frozenset[str] = frozenset(),
) -> tuple[ClipDataset, str]:
    """Stride-1 clips of the device's training footage that adaptation did not see: each video after
    the `fraction` share taken from its start (contiguous mode). Falls back to all training footage,
    and says so, when nothing (or fewer than `min_clips`) is held out. Videos named in `skip` are left
    out (not their share of adaptation: the cut is the same with and without them)."""
    tuned = clip_dataset(params, manifest, "training", [scene], source)
    full = clip_dataset(params, manifest, "training", [scene], source, stride=1)
    T = tuned.clip_len
    kept = [vi for vi, v in enumerate(full.videos) if v.video not in skip]
    if fraction_mode == "contiguous" and fraction < 1:
        cutoff = contiguous_share_ends(tuned, fraction)
        videos = []
        for vi in kept:
            v = full.videos[vi]
            lo, hi = v.span or (0, len(v.source))
            videos.append(dataclasses.replace(v, span=(max(lo, cutoff.get(vi, lo)), hi)))
        held = ClipDataset(videos, clip_len=T, stride=1)
        if len(held) >= min_clips:
            return held, f"training footage after the {fraction:g} share used for adaptation"
    every = ClipDataset([full.videos[vi] for vi in kept], clip_len=T, stride=1)
    return every, "all training footage (nothing held out from adaptation: the threshold is optimistic)"
