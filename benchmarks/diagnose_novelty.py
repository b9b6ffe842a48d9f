"""Is what the reference detector flags in normal footage new at its place, or only at the wrong time
(issue 26)? The demo's device models rescored, nothing fitted.

    make demo   # or any dvc repro that leaves models/adapters/<device>/knn
    python benchmarks/diagnose_novelty.py [--out diagnose_novelty]

For every test clip of each device: the clip's local score (``KnnReference.local_distance``), and at
its centre frame's worst cell of the neighbour that gives the score, the cell error e and its novelty
n = min(e, the cell against the best of ``novelty_frames`` normal patches of that place at any moment;
``models/knn_reference.py``). n / e near 1: the cell shows what normal footage never shows there (a
look); near 0: what it shows is normal there at another moment (timing). The shares are read for the
normal clips that score highest (the tail the alert threshold sits in), all normal clips, and the
anomalous clips by type. A diagnosis, never a setting. Writes ``benchmarks/results/<out>.json``.
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

from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.data.synth.anomalies import ANOMALY_TYPES  # noqa: E402
from ipad_vad.io_utils import read_dataframe  # noqa: E402
from ipad_vad.jobs.data import DataSource, clip_dataset  # noqa: E402
from ipad_vad.jobs.evaluate import load_for_scene  # noqa: E402

TAILS = (0.01, 0.05)  # the normal clips' highest shares by score


@torch.no_grad()
def clip_novelty(model, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Per clip: the local score, and at the centre frame's worst cell of the scoring neighbour its error
    and novelty (module docstring)."""
    d = model.descriptor(x).float()
    _, idx = model.nearest(d)
    w = model.frame_weights
    used = (w > 0).nonzero().flatten()
    q = d[:, None].unflatten(-1, model.map_shape).index_select(2, used)  # n, 1, F used, C, h, w
    b = model.banks()[0][idx].unflatten(-1, model.map_shape)  # n, k, F, C, h, w
    cells = model._aligned(q, b.index_select(2, used))  # n, k, F used, h', w' (no persistence)
    score = (cells.flatten(-2).amax(-1) * w[used]).sum(-1)  # n, k
    rows = torch.arange(len(d))
    best = cells[rows, score.argmin(1)]  # n, F used, h', w'
    centre = int(w[used].argmax())
    e = best[:, centre].flatten(1)  # n, cells
    worst = e.argmax(1)
    n = model.novelty(q[:, 0])[:, centre].flatten(1)
    e_w, n_w = e[rows, worst], n[rows, worst]
    return {"score": score.amin(1).numpy(), "e": e_w.numpy(), "n": torch.minimum(n_w, e_w).numpy()}


def shares(e: np.ndarray, n: np.ndarray) -> dict:
    s = n / np.maximum(e, 1e-12)
    return {
        "clips": int(len(e)),
        "novel_share_median": float(np.median(s)) if len(s) else None,
        "novel_share_quartiles": np.percentile(s, [25, 75]).tolist() if len(s) else None,
        "mostly_timing": float(np.mean(s < 0.5)) if len(s) else None,
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="diagnose_novelty")
    args = ap.parse_args(argv)
    p = load_params()
    manifest = read_dataframe(p["data"]["manifest"])
    codes = {v["code"]: k for k, v in ANOMALY_TYPES.items()}
    result: dict = {"devices": {}}
    pooled: dict[str, list] = {}
    for device in p["pipeline"]["devices"]:
        _, model = load_for_scene(p, "knn", device)
        ds = clip_dataset(p, manifest, "testing", [device], DataSource.PREPARED, stride=1)
        parts: dict[str, list] = {"score": [], "e": [], "n": [], "label": [], "type": []}
        for batch in DataLoader(ds, batch_size=64, num_workers=0):
            for k, v in clip_novelty(model, batch["clip"]).items():
                parts[k].append(v)
            parts["label"].append(np.asarray(batch["label"]))
            parts["type"].append(np.asarray(batch["type"]))
        cols = {k: np.concatenate(v) for k, v in parts.items()}
        normal = cols["label"] == 0
        for tail in TAILS:  # each device's tail on its own score scale
            cols[f"top_{tail:g}"] = normal & (cols["score"] >= np.quantile(cols["score"][normal], 1 - tail))
        for k, v in cols.items():
            pooled.setdefault(k, []).append(v)
        result["devices"][device] = summarise(cols, codes)
        print(device, result["devices"][device]["normal_tail"], flush=True)
    result["all_devices"] = summarise({k: np.concatenate(v) for k, v in pooled.items()}, codes)
    result["command"] = "python benchmarks/diagnose_novelty.py " + " ".join(argv or sys.argv[1:])
    print(write_result(args.out, result))
    return result


def summarise(c: dict, codes: dict) -> dict:
    """Novel shares of the normal clips' tail (each device's highest scores on its own scale), all
    normal clips, and the anomalous clips by type."""
    normal, anomalous = c["label"] == 0, c["label"] == 1
    out = {"normal_all": shares(c["e"][normal], c["n"][normal])}
    out["normal_tail"] = {f"top_{t:g}": shares(c["e"][c[f"top_{t:g}"]], c["n"][c[f"top_{t:g}"]]) for t in TAILS}
    out["anomalous_by_type"] = {}
    for t in np.unique(c["type"][anomalous]):
        of_type = anomalous & (c["type"] == t)
        out["anomalous_by_type"][codes.get(int(t), str(int(t)))] = shares(c["e"][of_type], c["n"][of_type])
    return out


if __name__ == "__main__":
    main()
