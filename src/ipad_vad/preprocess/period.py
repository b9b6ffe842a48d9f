"""Cycle length and cycle starts of every video of a scene (DESIGN §6 `period` stage).

Annotations (``periods/<split>_<NN>.json``) are used where present. Otherwise:

1. **cycle length** — the autocorrelation (FFT) of a per-frame signal for lags up to half a video,
   averaged over the scene's training videos; the cycle is the smallest lag in [min, max] whose peak reaches 85 % of the best
   peak (a multiple of the cycle also correlates), refined to sub-frame by a parabola. Signals:
   ``energy`` (motion energy from the optical-flow stage) or ``appearance`` (tiny z-normalised RGB
   frames: a machine's pose and workpiece repeat exactly once per cycle, while a symmetric motion —
   reach and return — makes motion energy repeat every half cycle);
2. **cycle starts** — the first cycle of the scene's first training video is the template
   (its frame 0 is phase 0 for the whole scene, so phases agree across videos); each video's starts are
   found by matching that template sequence greedily, one cycle length (±25 %) after the other.

Every frame gets its phase (0 at a start, rising to 1); training videos are cropped to whole cycles
(first to last start). Where annotations exist too, the estimate is still made and its error
reported (``error_frames``), which is how the estimator is tested on generated footage.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ..data.decoded_cache import CachedSource, read_index
from ..data.periods import read_period_file
from ..io_utils import atomic_dir, write_json


def appearance_signal(frames: np.ndarray, size: int = 12) -> np.ndarray:
    """(T, H, W, 3) -> (T, size*size*3): small frames, each z-normalised (lighting-invariant)."""
    small = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in frames]).astype(np.float32)
    flat = small.reshape(len(frames), -1)
    flat -= flat.mean(1, keepdims=True)
    flat /= flat.std(1, keepdims=True) + 1e-6
    return flat


def _autocorr(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Normalised autocorrelation of a (T, D) signal for lags 0..max_lag (unbiased)."""
    x = x - x.mean(0, keepdims=True)
    n = len(x)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(x, size, axis=0)
    r = np.fft.irfft((spec * np.conj(spec)).real, size, axis=0)[: max_lag + 1].sum(1)
    r = r / (n - np.arange(max_lag + 1))
    return r / (r[0] + 1e-12)


def estimate_cycle_length(signals: list[np.ndarray], min_len: int, max_len: int) -> float:
    """Cycle length in frames from one or more (T, D) or (T,) signals of the same machine."""
    acc, weight = None, 0
    for s in signals:
        s = s.reshape(len(s), -1).astype(np.float64)
        # lags up to half the video: beyond, the unbiased estimate averages a handful of frame pairs
        lag = min(max_len + 1, len(s) // 2)
        if lag <= min_len:
            continue
        r = np.full(max_len + 2, np.nan)
        r[: lag + 1] = _autocorr(s, lag)
        acc = r * len(s) if acc is None else np.where(np.isnan(r), acc, np.nan_to_num(acc) + r * len(s))
        weight += len(s)
    if acc is None:
        raise ValueError("videos too short to estimate a cycle length")
    r = acc / weight
    ks = [
        k
        for k in range(max(min_len, 1), min(max_len, len(r) - 2) + 1)
        if not np.isnan(r[k + 1]) and r[k] >= r[k - 1] and r[k] >= r[k + 1]
    ]
    if not ks:
        raise ValueError("no periodicity found in the allowed range")
    best = max(r[k] for k in ks)
    # the first peak within 15 % of the best (of its magnitude: under heavy jitter every peak can be
    # negative, and 0.85 * best would then lie above all of them)
    k = next(k for k in ks if r[k] >= best - 0.15 * abs(best))
    a, b, c = r[k - 1], r[k], r[k + 1]
    denom = a - 2 * b + c
    return float(k + (0.5 * (a - c) / denom if abs(denom) > 1e-12 else 0.0))


PRIOR_WEIGHT = 0.3  # cost units (median-normalised match cost) at a 25 % deviation from the cycle length


def find_cycle_starts(signal: np.ndarray, template: np.ndarray, length: float) -> list[int]:
    """Starts of the cycles of one video by greedy matching of the template sequence (one whole
    cycle: a part of it can look like another part, e.g. a sorter's two half-cycles). Near the end
    of the video the overlap that exists is compared, at least half the template."""
    s = signal.reshape(len(signal), -1)
    tpl = template.reshape(len(template), -1)
    w = len(tpl)
    n = len(s) - max(1, w // 2) + 1
    if n <= 0:
        return [0]
    cost = np.array([np.mean((s[t : t + w] - tpl[: len(s) - t]) ** 2) for t in range(n)])
    cost = cost / (np.median(cost) + 1e-12)
    L = length
    starts = [int(np.argmin(cost[: max(1, int(round(L)))]))]
    while True:
        lo, hi = int(starts[-1] + 0.75 * L), int(starts[-1] + 1.25 * L) + 1
        if lo >= n:
            break
        t = np.arange(lo, min(hi, n))
        # machines keep their cycle time: prefer one cycle length ahead unless the match says otherwise
        seg = cost[lo : min(hi, n)] + PRIOR_WEIGHT * ((t - starts[-1] - L) / (0.25 * L)) ** 2
        nxt = lo + int(np.argmin(seg))
        if hi > n and nxt >= n - 1 and len(seg) < 0.5 * L:
            break  # the video ends before the next cycle could be confirmed
        starts.append(nxt)
    return starts


def _signal(kind: str, cache_root: Path, flow_root: Path | None, scene: str, key: str, n: int) -> np.ndarray:
    split, video = key.split("/")
    if kind == "energy":
        if flow_root is None:
            raise ValueError("the energy signal needs the optical-flow stage's output")
        return np.load(Path(flow_root) / scene / f"{split}_{video}.energy.npy")
    return appearance_signal(CachedSource(Path(cache_root) / scene / f"{split}_{video}.npy").read(range(n)))


def period_scene(
    manifest: pd.DataFrame,
    scene: str,
    cache_root: str | Path,
    periods_root: str | Path,
    flow_root: str | Path | None = None,
    signal: str = "appearance",
    min_len: int = 8,
    max_len: int = 400,
    use_annotations: bool = True,
) -> dict:
    """Estimate (and, where annotated, check) the cycles of every video of `scene`; write
    ``<periods_root>/<scene>/<split>_<NN>.json`` (IPAD period format + crop) and ``periods.json``."""
    index = read_index(cache_root, scene)["videos"]
    rows = manifest[manifest.scene == scene].set_index(
        manifest[manifest.scene == scene].split + "/" + manifest[manifest.scene == scene].video
    )
    keys = [k for k in index if k in rows.index]
    train = [k for k in keys if k.startswith("training/")] or keys
    sig = {
        k: _signal(signal, Path(cache_root), Path(flow_root) if flow_root else None, scene, k, index[k]["n_frames"])
        for k in keys
    }
    length = estimate_cycle_length([sig[k] for k in train], min_len, max_len)
    template = sig[train[0]][: max(2, int(round(length)))]
    annotated = {}
    for k in keys:
        p = rows.loc[k, "period_path"]
        if use_annotations and p:
            annotated[k] = read_period_file(p)["cycle_starts"]
    gt_len = (
        float(np.median(np.concatenate([np.diff(annotated[k]) for k in train if k in annotated])))
        if any(k in annotated for k in train)
        else None
    )
    out_videos, start_errors = {}, []
    target = Path(periods_root) / scene
    if target.exists():
        shutil.rmtree(target)
    with atomic_dir(target) as tmp:
        for k in keys:
            est = find_cycle_starts(sig[k], template, length)
            if len(est) == 1:  # a video shorter than ~2 cycles: the next start one cycle length on
                est.append(est[0] + max(1, int(round(length))))
            starts = annotated.get(k, est)
            if k in annotated and k.startswith("training/"):
                gt = np.asarray(annotated[k])
                start_errors += [float(np.min(np.abs(gt - e))) for e in est]
            crop = [int(starts[0]), min(int(starts[-1]), index[k]["n_frames"])]
            split, video = k.split("/")
            rec = {
                "cycle_starts": [int(s) for s in starts],
                "estimated_cycle_starts": [int(s) for s in est],
                "source": "annotation" if k in annotated else "estimated",
                "crop": crop,
            }
            write_json(tmp / f"{split}_{video}.json", rec)
            out_videos[k] = rec
        summary = {
            "scene": scene,
            "signal": signal,
            "estimated_cycle_frames": round(length, 2),
            "annotated_cycle_frames": gt_len,
            "cycle_frames": gt_len if gt_len is not None else round(length, 2),
            "error_frames": round(abs(length - gt_len), 2) if gt_len is not None else None,
            "start_error_frames_median": round(float(np.median(start_errors)), 2) if start_errors else None,
            "videos": {
                k: {kk: v for kk, v in r.items() if kk != "estimated_cycle_starts"} for k, r in out_videos.items()
            },
        }
        write_json(tmp / "periods.json", summary)
    return summary
