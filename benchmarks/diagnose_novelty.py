"""Is what the reference detector flags in normal footage new at its place, or only at the wrong time
(issue 26)? The demo's device models rescored, nothing fitted.

    make demo   # or any dvc repro that leaves models/adapters/<device>/knn
    python benchmarks/diagnose_novelty.py [--out diagnose_novelty]
    # or the devices of a quality benchmark's seeds, their models and data kept by --work:
    python benchmarks/bench_quality.py --seeds 0,1,2 --methods knn --work W --out ...
    python benchmarks/diagnose_novelty.py --work W --seeds 0,1,2 --out experiments/diagnose_novelty_seeds

For every test clip of each device: the clip's local score (``KnnReference.local_distance``), and at
its centre frame's worst cell of the neighbour that gives the score, the cell error e and its novelty
n = min(e, the cell against the best of ``novelty_frames`` normal patches of that place at any moment;
``models/knn_reference.py``). n / e near 1: the cell shows what normal footage never shows there (a
look); near 0: what it shows is normal there at another moment (timing). And how far in time that
cell's match lies: the fewest frames from the neighbour's centre frame, in its recording, at which the
cell errs at most half as much (``frames_to_match``, within ``REACH``). Both are read for the normal
clips that score highest (the tail the alert threshold sits in), all normal clips, and the anomalous
clips by type. A diagnosis, never a setting. Writes ``benchmarks/results/<out>.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402
from bench_quality import SRC, seed_params  # noqa: E402

from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.data.manifest import build_manifest  # noqa: E402
from ipad_vad.data.synth.anomalies import ANOMALY_TYPES  # noqa: E402
from ipad_vad.io_utils import read_dataframe  # noqa: E402
from ipad_vad.jobs.data import DataSource, clip_dataset  # noqa: E402
from ipad_vad.jobs.evaluate import load_for_scene  # noqa: E402
from ipad_vad.methods.adaptation import load_adapted  # noqa: E402

TAILS = (0.01, 0.05)  # the normal clips' highest shares by score
REACH = 12  # frames before and after the neighbour's centre frame searched for the worst cell's match


@torch.no_grad()
def clip_novelty(model, x: torch.Tensor, lookup: dict) -> dict[str, np.ndarray]:
    """Per clip: the local score, and at the centre frame's worst cell of the scoring neighbour its error
    and novelty (module docstring); `lookup`: ``bank_lookup(model)``."""
    d, flags = model.query_descriptors(x)  # clipped elements censored as in the score
    d = d.float()
    # n, F used, h', w'; bank index; local score
    best, j, score = model.scoring_neighbour(d, opened=False, clipped=flags)
    w, used = model.frame_weights, model.used_frames
    q = d[:, None].unflatten(-1, model.map_shape).index_select(2, used)  # n, 1, F used, C, h, w
    rows = torch.arange(len(d))
    centre = int(w[used].argmax())
    e = best[:, centre].flatten(1)  # n, cells
    worst = e.argmax(1)
    n = model.novelty(q[:, 0])[:, centre].flatten(1)
    e_w, n_w = e[rows, worst], n[rows, worst]
    return {
        "score": score.numpy(),
        "e": e_w.numpy(),
        "n": torch.minimum(n_w, e_w).numpy(),
        "offset": frames_to_match(model, lookup, q[:, :, centre : centre + 1], j, worst, e_w).numpy(),
    }


def bank_lookup(model) -> dict[tuple[int, int], int]:
    """The bank index of each (recording, frame) of the model's bank clips, read once per model."""
    rec, frm = model.bank_recording.tolist(), model.bank_frame.tolist()
    return {(r, f): i for i, (r, f) in enumerate(zip(rec, frm, strict=True))}


def frames_to_match(
    model, lookup: dict, q: torch.Tensor, j: torch.Tensor, worst: torch.Tensor, e: torch.Tensor
) -> torch.Tensor:
    """How far in time the worst cell's match lies: the fewest frames before or after the scoring
    neighbour's centre frame, in its own recording, at which that cell's error is at most half of `e`
    (the bank's clips start every frame, so their centre frames are the recording's frames); REACH + 1
    where none within REACH. `q`: the query's centre frames (n, 1, 1, C, h, w); `lookup`: ``bank_lookup``."""
    rec, frm = model.bank_recording, model.bank_frame
    bank, shape, F_ = model.banks()[0], model.map_shape, model.map_shape[0]
    steps = list(range(-REACH, REACH + 1))
    out = torch.full((len(j),), float(REACH + 1))
    for i in range(len(j)):
        r, t = int(rec[j[i]]), int(frm[j[i]])
        found = [(dt, lookup[r, t + dt]) for dt in steps if (r, t + dt) in lookup]
        b = bank[[k for _, k in found]].unflatten(-1, shape)[None, :, F_ // 2 : F_ // 2 + 1]  # 1, K, 1, C, h, w
        err = model.aligned_cells(q[i : i + 1], b).flatten(-2)[0, :, 0, worst[i]]  # K
        near = [abs(dt) for (dt, _), x in zip(found, err.tolist(), strict=True) if x <= 0.5 * float(e[i])]
        if near:
            out[i] = min(near)
    return out


def shares(e: np.ndarray, n: np.ndarray, offset: np.ndarray) -> dict:
    """The novel share n / e of a group of clips, and how far in time their worst cell's match lies."""
    s = n / np.maximum(e, 1e-12)
    far = {
        "frames_to_match_median": float(np.median(offset)) if len(offset) else None,
        "matched_within_2_frames": float(np.mean(offset <= 2)) if len(offset) else None,
        "unmatched_within_reach": float(np.mean(offset > REACH)) if len(offset) else None,
    }
    return {
        "clips": int(len(e)),
        "novel_share_median": float(np.median(s)) if len(s) else None,
        "novel_share_quartiles": np.percentile(s, [25, 75]).tolist() if len(s) else None,
        "mostly_timing": float(np.mean(s < 0.5)) if len(s) else None,
        **far,
    }


def device_columns(p: dict, manifest, device: str, model, source: DataSource) -> dict[str, np.ndarray]:
    """Every test clip of `device` read by ``clip_novelty``, with its label and anomaly type, and whether
    it is among the device's highest-scoring normal clips (each tail of TAILS, on its own scale)."""
    ds = clip_dataset(p, manifest, "testing", [device], source, stride=1)
    parts: dict[str, list] = {"score": [], "e": [], "n": [], "offset": [], "label": [], "type": []}
    lookup = bank_lookup(model)
    for batch in DataLoader(ds, batch_size=64, num_workers=0):
        for k, v in clip_novelty(model, batch["clip"], lookup).items():
            parts[k].append(v)
        parts["label"].append(np.asarray(batch["label"]))
        parts["type"].append(np.asarray(batch["type"]))
    cols = {k: np.concatenate(v) for k, v in parts.items()}
    normal = cols["label"] == 0
    for tail in TAILS:
        cols[f"top_{tail:g}"] = normal & (cols["score"] >= np.quantile(cols["score"][normal], 1 - tail))
    return cols


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--work", default=None, help="a bench_quality.py --work folder with knn (default: the demo's models)"
    )
    ap.add_argument("--seeds", default="0", help="comma-separated seeds of that run")
    ap.add_argument("--out", default="diagnose_novelty")
    args = ap.parse_args(argv)
    p = load_params()
    codes = {v["code"]: k for k, v in ANOMALY_TYPES.items()}
    result: dict = {"devices": {}}
    pooled: dict[str, list] = {}
    runs = (
        [(None, p)]
        if args.work is None
        else [(int(x), seed_params(p, int(x), Path(args.work))) for x in args.seeds.split(",")]
    )
    for seed, q in runs:
        if seed is None:
            manifest, source = read_dataframe(q["data"]["manifest"]), DataSource.PREPARED
        else:
            manifest, source = build_manifest(Path(q["data"]["root"]), sample_decode=1), SRC
        for device in q["pipeline"]["devices"]:
            if seed is None:
                model = load_for_scene(q, "knn", device)[1]
            else:
                folder = Path(args.work) / f"seed{seed}" / "knn" / "adapters" / device
                if not folder.is_dir():
                    raise SystemExit(
                        f"{folder}: no adapted knn model (run bench_quality.py --methods knn --work first)"
                    )
                model = load_adapted(folder)[1]
            cols = device_columns(q, manifest, device, model, source)
            for k, v in cols.items():
                pooled.setdefault(k, []).append(v)
            name = device if seed is None else f"{device} seed {seed}"
            result["devices"][name] = summarise(cols, codes)
            print(name, result["devices"][name]["normal_tail"], flush=True)
    result["all_devices"] = summarise({k: np.concatenate(v) for k, v in pooled.items()}, codes)
    result["command"] = "python benchmarks/diagnose_novelty.py " + " ".join(argv or sys.argv[1:])
    print(write_result(args.out, result))
    return result


def summarise(c: dict, codes: dict) -> dict:
    """Novel shares of the normal clips' tail (each device's highest scores on its own scale), all
    normal clips, and the anomalous clips by type."""
    normal, anomalous = c["label"] == 0, c["label"] == 1

    def of(mask):
        return shares(c["e"][mask], c["n"][mask], c["offset"][mask])

    out = {"normal_all": of(normal), "normal_tail": {f"top_{t:g}": of(c[f"top_{t:g}"]) for t in TAILS}}
    out["anomalous_by_type"] = {
        codes.get(int(t), str(int(t))): of(anomalous & (c["type"] == t)) for t in np.unique(c["type"][anomalous])
    }
    return out


if __name__ == "__main__":
    main()
