"""Evaluate one scene with every method, write its metrics, ROC points and plots; build the
Table-2-style report over all scenes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..io_utils import read_dataframe, write_dataframe, write_json, write_text
from ..train.runs import evaluate
from .methods import LABELS, model_for_scene, method_params


def evaluate_scene(params: dict, scene: str, progress: bool = True) -> dict:
    """Writes ``<eval_root>/<scene>/{metrics.json, roc.csv, <method>.parquet}`` (and, for a device,
    ``calibration/<method>.json``: the alert threshold) and ``<plots_root>/<scene>/{roc.png, scores.png}``."""
    from ..evaluate.plots import plot_roc, plot_score_curves, roc_points

    pipe = params["pipeline"]
    out = Path(pipe["eval_root"]) / scene
    manifest = read_dataframe(params["data"]["manifest"])
    results, scored = {}, {}
    for name in pipe["methods"]:
        p = method_params(params, name)
        model = model_for_scene(p, name, scene)
        df, metrics = evaluate(p, manifest, scene, model, progress=progress)
        if scene in pipe["devices"]:  # the alert threshold that ships with the registered model
            from .calibration import alert_metrics, calibrate

            cal = calibrate(p, manifest, scene, model, metrics["period_step"], progress=progress)
            write_json(out / "calibration" / f"{name}.json", cal.to_dict())
            metrics["alerts"] = alert_metrics(df, cal)
        write_dataframe(out / f"{name}.parquet", df)
        results[name] = metrics
        scored[LABELS[name]] = df
    if "ipad_vad" in results:  # the ablation without sliding window: reconstruction score alone
        results["ipad_vad_no_window"] = {"auc": {k: {"score": v["recon_score"]} for k, v in results["ipad_vad"]["auc"].items()}}
    summary = {"scene": scene, "methods": results,
               "auc": {n: r["auc"]["scene_norm"]["score"] for n, r in results.items()}}
    write_json(out / "metrics.json", summary)
    points = roc_points(scored)
    write_dataframe(out / "roc.csv", points)
    plots = Path(pipe["plots_root"]) / scene
    plot_roc(points, {LABELS[n]: a for n, a in summary["auc"].items()}, f"{scene}: frame-level ROC (scene norm)", plots / "roc.png")
    plot_score_curves(scored, scene, plots / "scores.png")
    return summary


def report(params: dict) -> dict:
    """Table 2 of the paper for this data: methods as rows, scenes as columns, average; both
    protocols; and the period-dependent anomaly types (pause, order, speed, missing_step)."""
    pipe = params["pipeline"]
    scenes = list(pipe["scenes"])
    per_scene = {s: json.loads((Path(pipe["eval_root"]) / s / "metrics.json").read_text()) for s in scenes}
    rows = list(per_scene[scenes[0]]["methods"])
    tables, md = {}, []
    for proto in ("scene_norm", "video_norm"):
        table = {}
        for m in rows:
            vals = {s: per_scene[s]["methods"][m]["auc"][proto]["score"] for s in scenes}
            vals["avg"] = float(np.nanmean(list(vals.values())))
            table[m] = vals
        tables[proto] = table
        md += [f"### Frame-level AUC (%), {proto.replace('_', ' ')}", "",
               "| method | " + " | ".join(scenes) + " | avg |", "|---" * (len(scenes) + 2) + "|"]
        for m in rows:
            md.append(f"| {LABELS[m]} | " + " | ".join(f"{100 * table[m][s]:.1f}" for s in scenes)
                      + f" | **{100 * table[m]['avg']:.1f}** |")
        md.append("")
    types = ["pause", "order", "speed", "missing_step", "color", "shape", "shift", "tilt", "sorting", "missing_part"]
    per_type = {}
    for m in [r for r in rows if "auc_per_type" in per_scene[scenes[0]]["methods"][r]]:
        per_type[m] = {}
        for t in types:
            vals = [per_scene[s]["methods"][m]["auc_per_type"][t] for s in scenes
                    if t in per_scene[s]["methods"][m].get("auc_per_type", {})]
            per_type[m][t] = float(np.nanmean(vals)) if vals else float("nan")
    present = [t for t in types if any(not np.isnan(per_type[m][t]) for m in per_type)]
    if present:  # only when the footage has per-frame anomaly types (test_types/)
        md += ["### AUC (%) per anomaly type (each type vs normal frames, scene norm, averaged over scenes)", "",
               "| method | " + " | ".join(present) + " |", "|---" * (len(present) + 1) + "|"]
        for m, vals in per_type.items():
            md.append(f"| {LABELS[m]} | " + " | ".join(f"{100 * vals[t]:.1f}" for t in present) + " |")
        md.append("")
    alerts = {f"{d}/{m}": per_scene[d]["methods"][m]["alerts"] for d in pipe["devices"] if d in per_scene
              for m in rows if "alerts" in per_scene[d]["methods"][m]}
    if alerts:
        md += ["### Alerts at the calibrated threshold (devices; threshold from held-out normal footage)", "",
               "| device / method | target false-alarm rate | false-alarm rate (test normal frames) | recall (test anomalous frames) "
               "| anomalous spans alerted | false alerts | AUC of the calibrated score |", "|---" * 7 + "|"]
        for k, a in alerts.items():
            md.append(f"| {k.split('/')[0]} / {LABELS[k.split('/')[1]]} | {100 * a['target_false_alarm_rate']:.1f} % "
                      f"| {100 * a['test_false_alarm_rate']:.1f} % | {100 * a['test_recall']:.1f} % "
                      f"| {a['spans_alerted']} / {a['anomalous_spans']} | {a['false_alerts']} | {100 * a['auc_calibrated']:.1f} |")
        md.append("")
    result = {"scenes": scenes, "auc": tables, "auc_per_type": per_type, "alerts": alerts,
              "summary": {m: tables["scene_norm"][m]["avg"] for m in rows}}
    reports = Path(pipe["reports_root"])
    write_json(reports / "results.json", result)
    write_text(reports / "results.md", "\n".join(md) + "\n")
    write_json(Path(pipe["metrics_root"]) / "summary.json",
               {f"auc_{m}": round(v, 4) for m, v in result["summary"].items()})
    return result

