"""What tolerating an operator's marked looks costs the reference detector's scoring, measured side by
side (issue 26, operator feedback; ``methods.knn.tolerate_marked``, models/knn_reference.py).

    python benchmarks/bench_alerts.py --seeds 0,1,2 --hours 4 --cal-hours 0.25 --feedback \
        --feedback-floor --work W            # keeps each readapted device model in W
    python benchmarks/bench_tolerance_cost.py --adapter W/seed0/feedback/knn/R02/adapter \
        [--device R02] [--seed 0] [--minutes 10] [--repeat 3] [--out bench_tolerance_cost]

A device model readapted after marks (its bank holds marked clips) streams a normal shift of the
generator (``data/synth/shift.shift_recording``, no everyday event, no anomaly; rendered once, not
timed) through the scorer
``ipad score`` uses (``bench_alerts.score_shift``), with ``tolerate_marked`` on and off on the same
bank, the two runs interleaved ``--repeat`` times; the calibration only names the components (the
demo's device calibration, ``make demo``). Reports the frames scored per second each way, their ratio
(the median run of each), and how the scores differ (tolerance never raises one). Writes
``benchmarks/results/<out>.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402
from bench_alerts import score_shift  # noqa: E402

from ipad_vad.alerts.calibration import Calibration  # noqa: E402
from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.data.synth.shift import shift_recording  # noqa: E402
from ipad_vad.methods.adaptation import load_adapted  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class Rendered:
    """A shift rendered once and kept, so that only the scoring is timed (``score_shift`` reads its
    chunks, its length, its plan and its events)."""

    def __init__(self, rec):
        self.plan, self.events, self.n, self.chunks = rec.plan, rec.events, len(rec), list(rec)

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        return iter(self.chunks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--adapter", required=True, help="a readapted device model's folder (bench_alerts --work)")
    ap.add_argument("--device", default="R02")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--out", default="bench_tolerance_cost")
    args = ap.parse_args()
    p = load_params(ROOT / "params.yaml", args.profile)
    method, model = load_adapted(Path(args.adapter))
    if not bool(model.bank_marked.any()):
        sys.exit(f"{args.adapter}: its bank holds no marked clips (an adapter readapted after marks is needed)")
    cal = Calibration.load(ROOT / "eval" / "devices" / args.device / "knn" / "calibration.json")
    runs: dict[bool, list[float]] = {True: [], False: []}
    scores: dict[bool, np.ndarray] = {}
    n = 0
    rec = Rendered(
        shift_recording(args.device, p["synth"], args.seed, 9, hours=args.minutes / 60, anomalies=[], everyday=())
    )
    for _ in range(args.repeat):
        for on in (False, True):
            model.tolerate_marked = on
            t = time.perf_counter()
            out = score_shift(method, model, cal, rec, False)
            runs[on].append(time.perf_counter() - t)
            scores[on] = next(v for k, v in out.items() if k.startswith("c_"))
            n = int(np.isfinite(scores[on]).sum())
            print(f"tolerate {'on ' if on else 'off'}: {n} frames in {runs[on][-1]:.1f} s", flush=True)
    off, on = scores[False], scores[True]
    ok = np.isfinite(off) & np.isfinite(on)
    fps = {k: n / float(np.median(v)) for k, v in runs.items()}
    result = {
        "adapter": str(args.adapter),
        "device": args.device,
        "seed": args.seed,
        "minutes": args.minutes,
        "frames": n,
        "bank_clips": int(len(model.bank_marked)),
        "marked_clips": int(model.bank_marked.sum()),
        "seconds": {"off": runs[False], "on": runs[True]},
        "frames_per_second": {"off": fps[False], "on": fps[True]},
        "time_ratio_on_over_off": fps[False] / fps[True],
        "scores": {
            "higher_with_tolerance": int((on[ok] > off[ok] + 1e-6).sum()),
            "lower_with_tolerance_share": float((on[ok] < off[ok] - 1e-6).mean()),
            "median_off": float(np.median(off[ok])),
            "median_on": float(np.median(on[ok])),
            "max_off": float(off[ok].max()),
            "max_on": float(on[ok].max()),
        },
        "command": "python benchmarks/bench_tolerance_cost.py " + " ".join(sys.argv[1:]),
    }
    print(
        f"{fps[False]:.1f} -> {fps[True]:.1f} frames/s ({result['time_ratio_on_over_off']:.2f}x the time); "
        f"scores lower {100 * result['scores']['lower_with_tolerance_share']:.1f} %, higher "
        f"{result['scores']['higher_with_tolerance']}",
        flush=True,
    )
    write_result(args.out, result)


if __name__ == "__main__":
    main()
