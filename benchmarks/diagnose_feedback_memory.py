"""What if the reference detector forgave, at each cell, what an operator marked as normal (issue 26,
operator feedback)? A what-if on the device models the feedback benchmark kept, nothing fitted.

    python benchmarks/bench_alerts.py --seeds 0,1,2 --hours 4 --cal-hours 0.25 --feedback \
        --feedback-floor --work W            # keeps each readapted device model and its scores in W
    python benchmarks/diagnose_feedback_memory.py --work W --bench-json <that run's JSON> \
        [--seeds 0] [--devices R02] [--modes whole,novel] [--quantile 0.99] [--out NAME]

After feedback a device's bank holds its marked false alarms as training recordings, and each clip is
still matched with its k nearest bank clips as a whole: a person walking through at another moment,
at another place, finds no marked clip near it, so the marks of the first hours do not lower the
walkers of the next (the feedback benchmark: walker false alerts 12 before and after). This probe
tries a per-cell memory of the marks. From the marked clips' frames (at every shift within
``methods.knn.shift``) it keeps the cell patches that are new at that cell: their novelty against the
unmarked bank (``KnnReference.novelty``, the memory of how each cell looks in normal footage) above
the ``--quantile`` of the unmarked recordings' own novelty at that cell, each recording against the
others. A query cell's error against that memory, t, then lowers its error e:

* ``whole``: e' = min(e, t) - anything that looks like a marked patch is forgiven;
* ``novel``: e' = (e - n) + min(n, t), n = min(e, the cell's novelty against the unmarked bank) -
  only the part of the error that is new at that cell may be forgiven; what is merely at the wrong
  time (a timing fault) counts as before.

For each device and seed with marks: the peak calibrated score minus the threshold after feedback
(the benchmark JSON's ``threshold_after`` and ``calibration_after``) of every walker and every
anomalous span in the rest of the evaluation shift, as kept and under each mode (the threshold left as
it is). A diagnosis, never a setting; docs/alerts.md reads it. Writes ``benchmarks/results/<out>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402
from bench_alerts import EVENT_KINDS, SHIFT_TYPE_NAMES, score_shift  # noqa: E402
from bench_quality import seed_params  # noqa: E402

from ipad_vad.alerts.calibration import Calibration  # noqa: E402
from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.data.synth.shift import shift_recording  # noqa: E402
from ipad_vad.methods.adaptation import load_adapted  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODES = ("whole", "novel")


def unmarked_and_marked(ref, n_unmarked: int):
    """The detector without its marked recordings (indices >= n_unmarked: the export appends them), and
    the marked clips' descriptors."""
    rec = ref.bank_recording
    marked = rec >= n_unmarked
    base = ref
    for r in sorted(set(rec[marked].tolist())):
        base = base.without_recording(r)
    return base, ref.bank[marked].float()


def marked_memory(ref, base, marked: torch.Tensor, n_unmarked: int, quantile: float):
    """The new patches of the marked clips' frames per cell: (patches transposed (cells, D, m), their
    squared norms (cells, 1, m); a cell with fewer than m new patches padded with far-away ones)."""
    shape = ref.map_shape
    own = base.bank.float().unflatten(-1, shape)
    recs = base.bank_recording
    novelty = [
        base.without_recording(r).novelty(own[recs == r]).flatten(0, 1).flatten(1)  # frames, cells
        for r in range(n_unmarked)
    ]
    tau = torch.quantile(torch.cat(novelty), quantile, dim=0)  # per cell
    frames = marked.unflatten(-1, shape).flatten(0, 1)  # every frame of every marked clip
    s, (h, w) = ref.shift, shape[-2:]
    padded = F.pad(frames, (s, s, s, s), mode="replicate")
    frames = torch.cat([padded[..., dy : dy + h, dx : dx + w] for dy in range(2 * s + 1) for dx in range(2 * s + 1)])
    new = base.novelty(frames[:, None]).squeeze(1).flatten(1).T > tau[:, None]  # cells, frames
    v = ref._cell_vectors(frames)  # cells, frames, D
    m = max(1, int(new.sum(1).max()))
    memory = torch.zeros(v.shape[0], m, v.shape[2])
    norms = torch.full((v.shape[0], 1, m), 1e12)
    for c in range(v.shape[0]):
        keep = new[c].nonzero().flatten()
        memory[c, : len(keep)] = v[c, keep]
        norms[c, 0, : len(keep)] = v[c, keep].pow(2).sum(-1)
    return (
        memory.transpose(1, 2).contiguous(),
        norms,
        {
            "tau": [float(tau.min()), float(tau.median()), float(tau.max())],
            "new_patches_per_cell": float(new.sum(1).float().mean()),
            "patches_per_cell": int(new.shape[1]),
        },
    )


def forgiving(ref, base, memory, norms, mode: str):
    """`ref`'s cell errors lowered by the marked memory (module docstring), on the instance (a second
    call replaces the first: the class's own cell errors are what is lowered)."""
    cells_of = type(ref)._cells.__get__(ref)

    def marked_error(q):  # n, F, C, h, w -> n, F, h', w'
        n, f, c, h, w = q.shape
        v = ref._cell_vectors(q.reshape(n * f, c, h, w))
        best = torch.baddbmm(norms, v, memory, alpha=-2).amin(-1) + v.pow(2).sum(-1)
        return (best.clamp_min(0) / ref.cell**2).T.reshape(n, f, h // ref.cell, w // ref.cell)

    def cells(q, b, used, clipped=None):
        e = cells_of(q, b, used, clipped)
        t = marked_error(q[:, 0]).unsqueeze(1)
        if mode == "whole":
            return torch.minimum(e, t)
        n = torch.minimum(e, base.novelty(q[:, 0]).unsqueeze(1))
        return e - n + torch.minimum(n, t)

    ref._cells = cells
    return ref


def margin_after(row: dict):
    """Raw scores -> calibrated score minus the threshold after feedback (a one-component method)."""
    mu, sd = row["calibration_after"]["means"][0], row["calibration_after"]["stds"][0]
    return lambda raw: (raw - mu) / sd - row["threshold_after"]


def runs(mask: np.ndarray, after: int) -> list[np.ndarray]:
    idx = np.flatnonzero(mask)
    idx = idx[idx >= after]
    return [r for r in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1) if len(r)]


def peaks(z: np.ndarray, kept: dict, split: int) -> dict:
    """Peak margin (calibrated score minus threshold) of every walker and anomalous span after `split`."""
    walker = 1 + EVENT_KINDS.index("walker")
    return {
        "walkers": [round(float(np.nanmax(z[r])), 2) for r in runs(kept["event"] == walker, split)],
        "anomalies": [
            [
                SHIFT_TYPE_NAMES.get(int(kept["type"][r[0]]), str(int(kept["type"][r[0]]))),
                round(float(np.nanmax(z[r])), 2),
            ]
            for r in runs(kept["label"] == 1, split)
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", required=True, help="the feedback benchmark's --work folder")
    ap.add_argument("--bench-json", required=True, help="that run's JSON (thresholds after feedback)")
    ap.add_argument("--seeds", default=None)
    ap.add_argument("--devices", default=None)
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--quantile", type=float, default=0.99)
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--out", default="experiments/diagnose_feedback_memory")
    args = ap.parse_args()
    work, bench = Path(args.work), json.loads(Path(args.bench_json).read_text())
    p = load_params(ROOT / "params.yaml", args.profile)
    seeds = None if args.seeds is None else {int(s) for s in args.seeds.split(",")}
    devices = None if args.devices is None else set(args.devices.split(","))
    modes = [m for m in args.modes.split(",") if m]
    if set(modes) - set(MODES):
        ap.error(f"--modes: of {', '.join(MODES)}")
    hours = bench["hours_per_device"] / len(bench["seeds"])
    rate = bench["anomalies_per_hour"]
    rows = []
    for device, per_seed in bench["feedback"]["methods"]["knn"]["per_seed_device"].items():
        for row in per_seed:
            seed = row["seed"]
            if not row["marked"] or (seeds and seed not in seeds) or (devices and device not in devices):
                continue
            t = time.perf_counter()
            q = seed_params(p, seed, work)
            kept_path = next((work / "scores").glob(f"knn_seed{seed}_{device}_evaluation_*_feedback_*.npz"))
            kept = dict(np.load(kept_path))
            cal_json = json.loads((work / "scores" / f"knn_seed{seed}_{device}_cal.json").read_text())
            cal_json.pop("params", None)
            cal = Calibration.from_dict(cal_json)  # its components: what score_shift keeps
            split = row["split_frame"]
            margin = margin_after(row)
            out = {
                "seed": seed,
                "device": device,
                "marked": row["marked"],
                "kept": peaks(margin(kept["c_distance"]), kept, split),
            }
            n_unmarked = row["training_recordings"] - len(row["exported_as"])
            method, ref = load_adapted(work / f"seed{seed}" / "feedback" / "knn" / device / "adapter")
            base, marked = unmarked_and_marked(ref, n_unmarked)
            memory, norms, info = marked_memory(ref, base, marked, n_unmarked, args.quantile)
            for mode in modes:
                rec = shift_recording(device, q["synth"], seed, 0, hours=hours, anomalies_per_hour=rate)
                scored = score_shift(method, forgiving(ref, base, memory, norms, mode), cal, rec, True)
                out[mode] = {**peaks(margin(scored["c_distance"]), kept, split), **info}
            out["seconds"] = round(time.perf_counter() - t)
            above = {k: sum(v > 0 for v in out[k]["walkers"]) for k in ("kept", *modes)}
            hit = {k: sum(a[1] > 0 for a in out[k]["anomalies"]) for k in ("kept", *modes)}
            print(f"seed {seed} {device}: walkers above the threshold {above}, anomalous spans above {hit}", flush=True)
            rows.append(out)
    write_result(args.out, {"command": " ".join(sys.argv), "quantile": args.quantile, "modes": modes, "rows": rows})


if __name__ == "__main__":
    main()
