"""Why a marked walker does not silence the next one (issue 26, operator feedback;
``methods.knn.tolerate_marked``): the walkers of a feedback run's evaluation shift scored by the
device's readapted model with the tolerance off and on, and the worst cell of each walker's peak clip
split as the score splits it. Nothing fitted.

    python benchmarks/bench_alerts.py --seeds 0,1,2 --hours 4 --cal-hours 0.25 --feedback \
        --feedback-floor --work W            # keeps each readapted device model in W
    python benchmarks/diagnose_tolerance_walkers.py --work W --seed 2 --device R01 [--hours 1.33333]
        [--out diagnose_tolerance_walkers]

The evaluation shift is rendered again as the benchmark renders it (``shift_recording`` of the seed's
params, shift 0, ``--hours`` = the benchmark's hours / 3 per seed, 3 anomalies an hour). For every walker:
its peak raw score over the clips centred on its frames, off and on; at the peak clip's centre frame
the worst cell's error e (against the neighbour that gives the score), its novel part n (against the
unmarked bank's memory of that place) and t (against the marked clips' memory): the tolerance lowers
e by n - t where t < n (models/knn_reference.py). Writes ``benchmarks/results/<out>.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402
from bench_quality import seed_params  # noqa: E402

from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.data.clip_dataset import to_clip_tensor  # noqa: E402
from ipad_vad.data.synth.shift import shift_recording  # noqa: E402
from ipad_vad.methods.adaptation import load_adapted  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--device", default="R01")
    ap.add_argument("--hours", type=float, default=4 / 3)
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--out", default="diagnose_tolerance_walkers")
    args = ap.parse_args()
    q = seed_params(load_params(ROOT / "params.yaml", args.profile), args.seed, args.work)
    rec = shift_recording(args.device, q["synth"], args.seed, 0, hours=args.hours, anomalies_per_hour=3)
    method, model = load_adapted(args.work / f"seed{args.seed}" / "feedback" / "knn" / args.device / "adapter")
    T = int(q["clip"]["length"])
    walkers = [e for e in rec.plan.events if e.kind == "walker"]
    need = {f for e in walkers for f in range(e.start - T, e.end + T)}
    frames = {c.start + i: f for c in rec for i, f in enumerate(c.frames) if c.start + i in need}

    def clip(c: int) -> torch.Tensor | None:
        idx = range(c - T // 2, c - T // 2 + T)
        return to_clip_tensor(np.stack([frames[i] for i in idx]))[None] if all(i in frames for i in idx) else None

    rows = []
    for e in walkers:
        peak = {}
        for on in (False, True):
            model.tolerate_marked = on
            scored = [(float(model(x)["distance"][0]), c) for c in range(e.start, e.end) if (x := clip(c)) is not None]
            peak[on] = max(scored) if scored else (float("nan"), None)
        model.tolerate_marked = False
        c = peak[False][1]
        d, clipped = model.query_descriptors(clip(c))
        q_maps = d.float()[:, None].unflatten(-1, model.map_shape).index_select(2, model.used_frames)
        cells = model.scoring_neighbour(d, clipped=clipped)[0][0]  # F used, h', w'
        mid = cells.shape[0] // 2
        err = cells[mid]
        novel = torch.minimum(err, model.novelty(q_maps[:, 0])[0, mid])
        t = model.tolerance(q_maps[:, 0])[0, mid]
        w = int(err.flatten().argmax())
        rows.append(
            {
                "frames": [e.start, e.end],
                "direction": e.params["direction"],
                "shade": e.params["shade"],
                "peak_off": peak[False][0],
                "peak_on": peak[True][0],
                "worst_cell": {
                    "e": float(err.flatten()[w]),
                    "n": float(novel.flatten()[w]),
                    "t": float(t.flatten()[w]),
                },
            }
        )
        r = rows[-1]
        print(
            f"walker {e.start}-{e.end} (direction {r['direction']:+d}, shade {r['shade']}): peak {r['peak_off']:.2f} "
            f"-> {r['peak_on']:.2f}; worst cell e {r['worst_cell']['e']:.2f}, n {r['worst_cell']['n']:.2f}, "
            f"t {r['worst_cell']['t']:.2f}",
            flush=True,
        )
    write_result(
        args.out,
        {
            "seed": args.seed,
            "device": args.device,
            "bank_clips": int(len(model.bank_marked)),
            "marked_clips": int(model.bank_marked.sum()),
            "walkers": rows,
            "command": "python benchmarks/diagnose_tolerance_walkers.py " + " ".join(sys.argv[1:]),
        },
    )


if __name__ == "__main__":
    main()
