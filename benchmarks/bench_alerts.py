"""Alerts over shifts (issue 26, 2): false alerts per camera-hour, spans alerted, time to alert.

    python benchmarks/bench_alerts.py [--seeds 0,1,2] [--methods knn,...] [--hours 4] [--cal-hours 0.25]
        [--anomalies-per-hour 3] [--profile demo] [--work DIR] [--out bench_alerts]
    make bench-alerts

For each generator seed, the quality benchmark's machinery (``bench_quality.prepare_seed``: the
synthetic dataset at the profile's settings, cached and period-annotated) and the pipeline's own
jobs: each method's base fitted (``jobs/pretrain.fit_method``), adapted to every demo device
(``jobs/adapt.adapt_to_device``), its test footage scored (``jobs/evaluate.evaluate``) and its
alert threshold calibrated as shipped (``jobs/calibrate.calibrate``). Then, per device, two
streamed shifts of the generator (``data/synth/shift.py``), scored by the streaming scorer
(``inference/stream_scorer.StreamScorer``, whose scores equal file scores):

* a **calibration shift** (``--cal-hours``, shift 1: everyday events, no anomaly): normal footage
  the threshold of the shift-calibrated alert logic is set on;
* an **evaluation shift** (``--hours`` per device, split evenly over the seeds; shift 0): everyday
  events and anomalies injected at random times (``--anomalies-per-hour``, every type the device has).

Each alert policy (``POLICIES``) turns the same scores into alerts: ``shipped`` is the calibration
of the registered version (issue 7: quantile of held-out normal frames, ``min_frames`` hot frames),
``shift`` the threshold and temporal evidence of ``alerts/calibration.fit_shift_calibration``.
Measured, per device, method and policy: false alerts per camera-hour (alerts on the evaluation
shift that overlap no injected anomaly), the share of anomalous spans alerted (the injected ones and
those of the labelled test videos), the time from a span's start to its alert (median and 90th
percentile, nominal seconds; ``time_to_alert_s`` counts from the frame whose score raises the alert,
``arrival`` adds the scorer's wait for the rest of the clip) and the trade-off curve (spans alerted
against false alerts per hour as the threshold moves by ``CURVE_OFFSETS`` calibrated units).

Writes ``benchmarks/results/<out>.json`` and ``<out>.png``. Scores are kept in ``--work`` (reused
with ``--reuse``: the policies again on the same scores, in seconds).
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, write_result  # noqa: E402
from bench_quality import QUIET, SRC, prepare_seed  # noqa: E402
from ipad_vad.alerts.alert_tracker import AlertTracker  # noqa: E402
from ipad_vad.alerts.calibration import Calibration, fit_shift_calibration  # noqa: E402
from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.data.synth.shift import shift_recording  # noqa: E402
from ipad_vad.evaluate.plots import true_runs  # noqa: E402
from ipad_vad.inference.stream_scorer import StreamScorer  # noqa: E402
from ipad_vad.jobs.adapt import adapt_to_device  # noqa: E402
from ipad_vad.jobs.calibrate import calibrate  # noqa: E402
from ipad_vad.jobs.evaluate import evaluate  # noqa: E402
from ipad_vad.jobs.pretrain import fit_method  # noqa: E402
from ipad_vad.jobs.settings import AlertSettings, FinetuneSettings  # noqa: E402
from ipad_vad.methods import get_method, load_model_file  # noqa: E402
from ipad_vad.methods.adaptation import load_adapted  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CURVE_OFFSETS = tuple(np.round(np.arange(-2.0, 8.01, 0.25), 2))  # threshold moves, calibrated units
STREAM_BATCH = 256  # clips per model call when scoring a shift (throughput; scores do not depend on it)


# -- scoring ----------------------------------------------------------------------------------
def score_shift(method, model, cal: Calibration, rec, amp: bool) -> dict[str, np.ndarray]:
    """Raw components, labels and types of every frame of a streamed shift (frames without a clip
    centred on them: NaN)."""
    n = len(rec)
    comps = {c: np.full(n, np.nan, np.float32) for c in cal.components}
    labels, types = np.zeros(n, np.uint8), np.zeros(n, np.int16)
    scorer = StreamScorer(method, model, cal, "cpu", batch_clips=STREAM_BATCH, max_latency=10**6, amp=amp,
                          name=f"shift {rec.plan.scene}", check_size=False)

    def take(scores):
        for fs in scores:
            for c in comps:
                comps[c][fs.frame] = fs.components[c]

    for chunk in rec:
        labels[chunk.start:chunk.start + len(chunk.labels)] = chunk.labels
        types[chunk.start:chunk.start + len(chunk.types)] = chunk.types
        take(scorer.push_many(chunk.frames))
    take(scorer.close())
    return {**{f"c_{c}": v for c, v in comps.items()}, "label": labels, "type": types}


def components(arrays: dict) -> dict[str, np.ndarray]:
    return {k[2:]: v for k, v in arrays.items() if k.startswith("c_")}


def device_models(p: dict, method_name: str, manifest, work: Path) -> dict:
    """The method fitted and adapted to every device as the pipeline does; per device its model,
    the test footage's scores and the shipped calibration."""
    base = work / method_name / "base"
    fit_method(p, method_name, manifest, p["pipeline"]["pretrain_scenes"], base, SRC, QUIET)
    out = {}
    for d in p["pipeline"]["devices"]:
        adapt_to_device(p, method_name, d, manifest, base / "model.pt", work / method_name / "adapters" / d, SRC, QUIET)
        _, model = load_adapted(work / method_name / "adapters" / d)
        method = get_method(method_name, p)
        scored, _, ctx = evaluate(p, method, model, manifest, d, SRC, progress=False)
        cal = calibrate(p, method, model, manifest, d, ctx, SRC, FinetuneSettings.from_params(p),
                        AlertSettings.from_params(p), progress=False)
        out[d] = {"method": method, "model": model, "scored": scored, "cal": cal}
    return out


# -- alert policies ---------------------------------------------------------------------------
def policy_calibration(policy: str, shipped: Calibration, cal_shift: dict, alert: AlertSettings, fps: float) -> Calibration:
    if policy == "shipped":
        return shipped
    if policy == "shift":
        return fit_shift_calibration(shipped, components(cal_shift), alert, fps,
                                     source=f"calibration shift ({len(cal_shift['label']) / fps / 3600:.2f} h)")
    raise ValueError(policy)


def run_alerts(cal: Calibration, s: np.ndarray, offset: float = 0.0) -> list[tuple[int, int, int]]:
    """(first hot frame, frame that raised the alert, last frame) of every alert over scores `s`."""
    tracker = AlertTracker.from_calibration(cal, offset)
    raised, out = {}, []
    for f in np.flatnonzero(~np.isnan(s)):
        for ev in tracker.update(int(f), float(s[f])):
            if ev.kind == "start":
                raised[ev.alert.start] = ev.at_frame
    tracker.close()
    return [(a.start, raised.get(a.start, a.start), a.end) for a in tracker.alerts]


def match(alerts, labels: np.ndarray, grace: int) -> tuple[int, list[float], int]:
    """(false alerts, frames from each anomalous span's start to its first alert (missed: absent),
    spans). An alert is on a span when it overlaps the span or the `grace` frames after it."""
    runs = true_runs(labels == 1)
    delays = []
    on_span = [False] * len(alerts)
    for lo, hi in runs:
        first = None
        for i, (a0, raised, a1) in enumerate(alerts):
            if a0 <= hi - 1 + grace and a1 >= lo:
                on_span[i] = True
                first = raised if first is None else min(first, raised)
        if first is not None:
            delays.append(first - lo)
    return sum(not x for x in on_span), delays, len(runs)


def evaluate_policy(cal: Calibration, eval_shift: dict, scored_test, fps: float, grace: int, offset: float = 0.0) -> dict:
    s = cal.score(components(eval_shift))
    alerts = run_alerts(cal, s, offset)
    false, delays, spans = match(alerts, eval_shift["label"], grace)
    t_false, t_delays, t_spans = 0, [], 0
    for _, g in scored_test.groupby("video_index", sort=True):
        frames = g.center.to_numpy()
        lab = np.zeros(int(frames.max()) + 1, np.uint8)
        sc = np.full(len(lab), np.nan)
        lab[frames], sc[frames] = g.label.to_numpy(), cal.score(g)
        f, d, n = match(run_alerts(cal, sc, offset), lab, grace)
        t_false, t_delays, t_spans = t_false + f, t_delays + d, t_spans + n
    hours = float(np.sum(eval_shift["label"] == 0)) / fps / 3600
    return {"false_alerts": false, "normal_hours": hours, "shift_spans": spans, "shift_spans_alerted": len(delays),
            "test_spans": t_spans, "test_spans_alerted": len(t_delays), "test_false_alerts": t_false,
            "delays_frames": [int(x) for x in delays + t_delays], "threshold": cal.threshold + offset}


def summarise(rows: list[dict], fps: float, latency_frames: int) -> dict:
    hours = sum(r["normal_hours"] for r in rows)
    false = sum(r["false_alerts"] for r in rows)
    spans = sum(r["shift_spans"] + r["test_spans"] for r in rows)
    hit = sum(r["shift_spans_alerted"] + r["test_spans_alerted"] for r in rows)
    d = np.array([x for r in rows for x in r["delays_frames"]], float) / fps
    q = lambda a, v: float(np.percentile(a, v)) if len(a) else None  # noqa: E731
    return {
        "false_alerts_per_hour": false / hours if hours else None, "false_alerts": false, "normal_hours": hours,
        "spans_alerted_share": hit / spans if spans else None, "spans": spans, "spans_alerted": hit,
        "shift_spans_alerted_share": (sum(r["shift_spans_alerted"] for r in rows) / max(1, sum(r["shift_spans"] for r in rows))),
        "test_spans_alerted_share": (sum(r["test_spans_alerted"] for r in rows) / max(1, sum(r["test_spans"] for r in rows))),
        "time_to_alert_s": {"median": q(d, 50), "p90": q(d, 90)},
        "time_to_alert_arrival_s": {"median": q(d + latency_frames / fps, 50), "p90": q(d + latency_frames / fps, 90)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--methods", default="knn", help="comma-separated registered methods (default: the reference)")
    ap.add_argument("--hours", type=float, default=4.0, help="nominal hours of evaluation shift per device, "
                    "split evenly over the seeds (default 4: the 30-minute budget on 2 cores)")
    ap.add_argument("--cal-hours", type=float, default=0.25, help="nominal hours of calibration shift per device and seed")
    ap.add_argument("--anomalies-per-hour", type=float, default=3.0, help="anomalies injected into the evaluation shift")
    ap.add_argument("--policies", default="shipped,shift")
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--work", default=None, help="work folder (default: a temporary one, removed at the end)")
    ap.add_argument("--reuse", action="store_true", help="reuse the scores kept in --work")
    ap.add_argument("--out", default="bench_alerts")
    args = ap.parse_args()
    t_all = time.perf_counter()
    p = load_params(ROOT / "params.yaml", args.profile)
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = [m for m in args.methods.split(",") if m]
    policies = [x for x in args.policies.split(",") if x]
    hours = args.hours / len(seeds)
    fps = float(p["synth"]["fps"])
    alert = AlertSettings.from_params(p)
    devices = p["pipeline"]["devices"]
    work = Path(args.work or tempfile.mkdtemp(prefix="bench_alerts_"))
    rows: dict = {m: {pol: {d: [] for d in devices} for pol in policies} for m in methods}
    curves: dict = {m: {pol: {str(o): [] for o in CURVE_OFFSETS} for pol in policies} for m in methods}
    timing = {"prepare_s": 0.0, "models_s": 0.0, "render_score_s": 0.0, "frames_scored": 0}
    latency = {}
    try:
        for seed in seeds:
            t = time.perf_counter()
            q, manifest, _ = prepare_seed(p, seed, work)
            timing["prepare_s"] += time.perf_counter() - t
            for m in methods:
                t = time.perf_counter()
                models = device_models(q, m, manifest, work / f"seed{seed}")
                timing["models_s"] += time.perf_counter() - t
                for d in devices:
                    dm = models[d]
                    cal, method = dm["cal"], dm["method"]
                    latency[m] = (cal.clip_len - cal.clip_len // 2 - 1) + (method.lookahead(cal.context())
                                                                          if method.window_components else 0)
                    shifts = {}
                    for name, shift, h, rate in (("calibration", 1, args.cal_hours, 0.0), ("evaluation", 0, hours,
                                                                                         args.anomalies_per_hour)):
                        f = work / "scores" / f"{m}_seed{seed}_{d}_{name}_{h:g}h_{rate:g}.npz"
                        if args.reuse and f.is_file():
                            shifts[name] = dict(np.load(f))
                            continue
                        t = time.perf_counter()
                        rec = shift_recording(d, q["synth"], seed, shift, hours=h, anomalies_per_hour=rate)
                        shifts[name] = score_shift(method, dm["model"], cal, rec, q["train"].get("amp", True))
                        timing["render_score_s"] += time.perf_counter() - t
                        timing["frames_scored"] += len(rec)
                        f.parent.mkdir(parents=True, exist_ok=True)
                        np.savez_compressed(f, **shifts[name])
                        print(f"seed {seed} {m} {d} {name}: {h:.2f} h, {len(rec)} frames, "
                              f"{time.perf_counter() - t:.0f} s", flush=True)
                    for pol in policies:
                        c = policy_calibration(pol, cal, shifts["calibration"], alert, fps)
                        r = evaluate_policy(c, shifts["evaluation"], dm["scored"], fps, cal.clip_len // 2)
                        rows[m][pol][d].append({"seed": seed, **r})
                        for o in CURVE_OFFSETS:
                            cr = evaluate_policy(c, shifts["evaluation"], dm["scored"], fps, cal.clip_len // 2, float(o))
                            curves[m][pol][str(o)].append(cr)
                        s = summarise([r], fps, latency[m])
                        print(f"  {pol:8s} {d}: {s['false_alerts_per_hour']:.2f} false alerts/h, spans "
                              f"{100 * s['spans_alerted_share']:.0f} %, time to alert {s['time_to_alert_s']['median']}",
                              flush=True)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    result = {"profile": args.profile, "seeds": seeds, "devices": devices, "fps": fps,
              "hours_per_device": args.hours, "cal_hours_per_device_seed": args.cal_hours,
              "anomalies_per_hour": args.anomalies_per_hour, "alert_settings": alert.__dict__,
              "methods": {}, **timing, "total_s": time.perf_counter() - t_all,
              "command": "python benchmarks/bench_alerts.py " + " ".join(sys.argv[1:])}
    for m in methods:
        result["methods"][m] = {}
        for pol in policies:
            all_rows = [r for d in devices for r in rows[m][pol][d]]
            result["methods"][m][pol] = {
                **summarise(all_rows, fps, latency[m]),
                "per_device": {d: summarise(rows[m][pol][d], fps, latency[m]) for d in devices},
                "curve": [{"offset": float(o), **{k: v for k, v in summarise(curves[m][pol][str(o)], fps, latency[m]).items()
                                                   if k in ("false_alerts_per_hour", "spans_alerted_share")},
                           "time_to_alert_median_s": summarise(curves[m][pol][str(o)], fps, latency[m])["time_to_alert_s"]["median"]}
                          for o in CURVE_OFFSETS],
                "per_seed_device": {d: rows[m][pol][d] for d in devices},
            }
            result["methods"][m][pol]["at_target"] = at_target(result["methods"][m][pol]["curve"])
    write_result(args.out, result)
    plot(result, RESULTS / f"{args.out}.png")


def at_target(curve: list[dict], max_false: float = 1.0) -> dict | None:
    """The curve's point with the most spans alerted at <= max_false false alerts per hour."""
    ok = [c for c in curve if c["false_alerts_per_hour"] is not None and c["false_alerts_per_hour"] <= max_false]
    return max(ok, key=lambda c: (c["spans_alerted_share"] or 0, -c["offset"])) if ok else None


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for m, pols in result["methods"].items():
        for pol, r in pols.items():
            xs = [c["false_alerts_per_hour"] for c in r["curve"]]
            ys = [100 * c["spans_alerted_share"] for c in r["curve"]]
            line, = ax.plot(xs, ys, marker=".", label=f"{m} / {pol}")
            ax.plot([r["false_alerts_per_hour"]], [100 * r["spans_alerted_share"]], "o", ms=9, color=line.get_color(),
                    mfc="none")
    ax.axvline(1.0, color="grey", ls="--", lw=0.8)
    ax.axhline(90, color="grey", ls="--", lw=0.8)
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("false alerts per camera-hour (normal shift footage)")
    ax.set_ylabel("anomalous spans alerted (%)")
    ax.set_title(f"Alerts: seeds {','.join(map(str, result['seeds']))}, {result['hours_per_device']:g} h per device "
                 f"({', '.join(result['devices'])})", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)


if __name__ == "__main__":
    main()
