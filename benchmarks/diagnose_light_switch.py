"""Why does a light switched by 20-30 % raise false alerts when the descriptor's normalisation per frame
removes any gain (issue 26)? The demo's device models score a normal shift whose light is switched at
fixed times, nothing fitted.

    make demo   # or any dvc repro that leaves models/adapters/<device>/knn and its calibration
    python benchmarks/diagnose_light_switch.py [--devices R01,R03,R04] [--set KEY=VALUE ...]
        [--out diagnose_light_switch]

Per device: a quarter-hour shift of the generator (``data/synth/shift.shift_recording``, no other
everyday event, no anomaly) with a light switch every ``EVERY_S`` nominal seconds, each a step of the
illumination gain drawn from ``STEP`` (its sign random; the steps add up). For every stretch between
two switches: the gain level reached, the calibrated score of the device's reference detector (median
and peak, from ``SETTLE`` frames after the switch: the clips that straddle it left out) against its
threshold, and the share of the stretch's pixels clipped at white (>= 254) and at black (<= 1). A
diagnosis, never a setting. ``--set methods.knn.censor_clipped=true`` scores with a setting of the
saved model changed (its bank and threshold as they are; models/clipped.py). Writes
``benchmarks/results/<out>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import apply_overrides, write_result  # noqa: E402
from bench_alerts import components, score_shift  # noqa: E402

from ipad_vad.alerts.calibration import Calibration  # noqa: E402
from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.data.synth.shift import shift_recording  # noqa: E402
from ipad_vad.methods.adaptation import load_adapted  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STEP = (0.2, 0.3)  # |step| of the illumination gain at each switch (the generator's default: 0.06-0.12)
EVERY_S = 120  # nominal seconds between switches
SETTLE = 8  # frames after a switch before its stretch is read (a clip centred there holds no frame before it)
HOURS = 0.25
CLIPPED = 0.1  # the summary: stretches with more than this share of their pixels clipped at white


def stretches(dev: str, p: dict, seed: int, sets: list[str]) -> dict:
    """The device's shift with its light switched, scored by its demo model, `sets` (``--set``) applied
    to the model's own settings (module docstring)."""
    method, model = load_adapted(ROOT / "models" / "adapters" / dev / "knn")
    if sets:
        method = type(method)(apply_overrides(method.model_params(), sets))
        model = method.from_state(model.state_dict())
    cal = Calibration.load(ROOT / "eval" / "devices" / dev / "knn" / "calibration.json")
    synth = {**p["synth"], "shift": {"light_switch_step": list(STEP)}}
    at = [(EVERY_S * i, "light_switch") for i in range(1, int(HOURS * 3600 // EVERY_S))]

    def recording():
        return shift_recording(dev, synth, seed, 5, hours=HOURS, anomalies=[], everyday=(), at=at)

    frames = np.concatenate([c.frames for c in recording()])
    rec = recording()
    out = score_shift(method, model, cal, rec, False)
    s = cal.score(components(out))
    steps = sorted((e.start, float(e.params["step"])) for e in rec.events if e.kind == "light_switch")
    starts = [0] + [t for t, _ in steps]
    ends = [t for t, _ in steps] + [len(s)]
    level, rows = 0.0, []
    for i, (a, b) in enumerate(zip(starts, ends)):
        if i:
            level += steps[i - 1][1]
        read = slice(a + (SETTLE if i else 0), b)
        rows.append(
            {
                "frames": [a, b],
                "step": steps[i - 1][1] if i else 0.0,
                "gain_level": round(level, 3),
                "score_median": float(np.nanmedian(s[read])),
                "score_peak": float(np.nanmax(s[read])),
                "peak_margin": float(np.nanmax(s[read]) - cal.threshold),
                "above_threshold": float(np.nanmean(s[read] > cal.threshold)),
                "clipped_white": float((frames[a:b] >= 254).mean()),
                "clipped_black": float((frames[a:b] <= 1).mean()),
            }
        )
        r = rows[-1]
        print(
            f"{dev} gain {level:+.2f}: score median {r['score_median']:.1f}, peak {r['score_peak']:.1f} "
            f"(threshold {cal.threshold:.1f}), clipped white {100 * r['clipped_white']:.1f} %",
            flush=True,
        )
    return {"threshold": cal.threshold, "stretches": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", default="R01,R03,R04")
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting of the saved models")
    ap.add_argument("--out", default="diagnose_light_switch")
    args = ap.parse_args()
    p = load_params(ROOT / "params.yaml", args.profile)
    devices = {d: stretches(d, p, int(p["synth"]["seed"]), args.set) for d in args.devices.split(",") if d}
    rows = [r for d in devices.values() for r in d["stretches"][1:]]  # the stretches after a switch
    white = np.array([r["clipped_white"] for r in rows])
    alerting = np.array([r["peak_margin"] > 0 for r in rows])
    clipped = white > CLIPPED
    summary = {
        "stretches": len(rows),
        "spearman_clipped_white_score_median": float(spearmanr(white, [r["score_median"] for r in rows]).statistic),
        f"clipped_white_over_{CLIPPED:g}": {
            "stretches": int(clipped.sum()),
            "peak_above_threshold": int(alerting[clipped].sum()),
        },
        f"clipped_white_at_most_{CLIPPED:g}": {
            "stretches": int((~clipped).sum()),
            "peak_above_threshold": int(alerting[~clipped].sum()),
        },
    }
    print(json.dumps(summary, indent=2))
    write_result(
        args.out,
        {
            "settings": args.set,
            "step": list(STEP),
            "every_s": EVERY_S,
            "hours": HOURS,
            "devices": devices,
            "summary": summary,
            "command": "python benchmarks/diagnose_light_switch.py " + " ".join(sys.argv[1:]),
        },
    )


if __name__ == "__main__":
    main()
