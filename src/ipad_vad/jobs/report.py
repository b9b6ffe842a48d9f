"""The Table-2-style report over every scene and method, and the per-scene plots (ROC of every
method, score curves), from the evaluation files of ``jobs/evaluate.py``.

Rows are the methods of ``pipeline.methods`` (combined score) and, for a method with several
components, one row per component alone (IPAD-VAD's reconstruction error alone is the paper's
"without sliding window" ablation). Nothing here knows a method by name: labels and components come
from each method's evaluation. AUCs are shown in percent (with ``metrics/summary.json``, ``auc_pct_<row>``);
``results.json`` keeps the fractions the evaluations computed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..data.manifest import scene_rows
from ..io_utils import read_dataframe, write_dataframe, write_json, write_text
from ..registry.promotion import alerts_on_test, best_candidate, usable
from ..registry.tracking import auc_pct
from .layout import eval_dir

_YES_NO = {True: "yes", False: "no"}
TYPE_ORDER = ["pause", "order", "speed", "missing_step", "color", "shape", "shift", "tilt", "sorting", "missing_part"]


def type_columns(per_scene: dict, scenes: list[str], methods: list[str]) -> list[str]:
    """The per-type table's columns: every anomaly type any evaluation scored, the generator's types
    first (in ``TYPE_ORDER``), then the footage's own (``anomaly_types.json``) in the order they are
    declared (the evaluations list them so), never dropped for a name the generator does not use."""
    seen: list[str] = []
    for s in scenes:
        for m in methods:
            seen += [t for t in per_scene[s][m].get("auc_per_type", {}) if t not in seen]
    return [t for t in TYPE_ORDER if t in seen] + [t for t in seen if t not in TYPE_ORDER]


def _load(params: dict, scenes: list[str], methods: list[str]) -> dict:
    out = {}
    for s in scenes:
        out[s] = {}
        for m in methods:
            f = eval_dir(params, s, m) / "metrics.json"
            if not f.is_file():
                raise FileNotFoundError(f"{f}: no evaluation of {m} on {s} (run its evaluate stage)")
            out[s][m] = json.loads(f.read_text())
    return out


def _rows(per_scene: dict, scenes: list[str], methods: list[str]) -> list[tuple[str, str, str]]:
    """(row key, label, AUC key) of the report: each method, then its components when it has several."""
    rows = []
    for m in methods:
        first = per_scene[scenes[0]][m]
        rows.append((m, first["label"], "score"))
        comps = [c for c, w in first["weights"].items() if w > 0]
        if len(comps) > 1:
            rows += [(f"{m}:{c}", f"{first['label']} — {c} alone", c) for c in comps]
    return rows


def scene_fps(manifest, scene: str) -> float | None:
    """The frame rate of a scene's test videos in the manifest; None unless exactly one positive rate holds."""
    rates = scene_rows(manifest, scene, "testing").fps.dropna()
    rates = rates[rates > 0]
    return float(rates.iloc[0]) if len(rates) and rates.nunique() == 1 else None


def plot_scene(params: dict, scene: str, methods: list[str], per_method: dict, fps: float | None = None) -> None:
    """ROC and score curves of one scene (seconds on the curves' axis when `fps` is known)."""
    from ..evaluate.plots import plot_roc, plot_score_curves, roc_points

    scored = {per_method[m]["label"]: read_dataframe(eval_dir(params, scene, m) / "scores.parquet") for m in methods}
    points = roc_points(scored)
    plots = Path(params["pipeline"]["plots_root"]) / scene
    write_dataframe(plots / "roc.csv", points)
    aucs = {per_method[m]["label"]: per_method[m]["auc"]["scene_norm"]["score"] for m in methods}
    plot_roc(points, aucs, f"{scene}: frame-level ROC (scene norm)", plots / "roc.png")
    plot_score_curves(scored, scene, plots / "scores.png", fps)


def _what_ran(params: dict, per_scene: dict, scenes: list[str], methods: list[str]) -> list[str]:
    """The report's opening: profile, scenes, test frames scored, methods and their training budget."""
    pipe, clip, train, ft = params["pipeline"], params["clip"], params["train"], params["adapt"]
    first = per_scene[scenes[0]]
    clips = sum(per_scene[s][methods[0]].get("n_clips", 0) for s in scenes)
    anomalous = sum(per_scene[s][methods[0]].get("n_anomalous", 0) for s in scenes)
    return [
        f"## Results of profile `{params['profile']}`",
        "",
        f"* **Scenes**: {len(scenes)} — pretraining {', '.join(pipe['pretrain_scenes'])}; devices "
        f"{', '.join(pipe['devices'])}.",
        f"* **Test frames scored**: {clips:,} (one per clip of {clip['length']} frames at {clip['size'][0]}×"
        f"{clip['size'][1]}), {anomalous:,} of them labelled anomalous.",
        "* **Methods**: " + ", ".join(f"{first[m]['label']} (`{m}`)" for m in methods) + ".",
        f"* **Budget**: pretraining {train['epochs']} epoch(s); adapting {ft['epochs']} epoch(s) on "
        f"{100 * float(ft['fraction']):.0f} % of each device's training footage (the rest calibrates "
        f"the alert threshold, with the device's calibration footage where it has some).",
        "* **Bold**: the best method in each column (a method's components alone are not ranked).",
        "",
    ]


def _bold_best(values: dict[str, float], rankable: set[str]) -> set[str]:
    """The keys holding the column's best value among the rankable rows."""
    vals = {k: v for k, v in values.items() if k in rankable and v == v}
    best = max(vals.values(), default=None)
    return {k for k, v in vals.items() if v == best}


def report(params: dict, plots: bool = True) -> dict:
    """Methods as rows, scenes as columns, average; both protocols; per anomaly type; alerts per device."""
    pipe = params["pipeline"]
    scenes, methods = list(pipe["scenes"]), list(pipe["methods"])
    per_scene = _load(params, scenes, methods)
    rows = _rows(per_scene, scenes, methods)
    tables, md = {}, _what_ran(params, per_scene, scenes, methods)
    for proto in ("scene_norm", "video_norm"):
        table = {}
        for key, _, auc_key in rows:
            m = key.split(":")[0]
            vals = {s: per_scene[s][m]["auc"][proto][auc_key] for s in scenes}
            vals["avg"] = float(np.nanmean(list(vals.values())))
            table[key] = vals
        tables[proto] = table
        md += [
            f"### Frame-level AUC (%), {proto.replace('_', ' ')}",
            "",
            "| method | " + " | ".join(scenes) + " | avg |",
            "|---" * (len(scenes) + 2) + "|",
        ]
        best = {c: _bold_best({k: table[k][c] for k, _, _ in rows}, set(methods)) for c in [*scenes, "avg"]}
        cell = lambda k, c, table=table, best=best: (  # noqa: E731
            f"**{100 * table[k][c]:.1f}**" if k in best[c] else f"{100 * table[k][c]:.1f}"
        )
        for key, label, _ in rows:
            md.append(f"| {label} | " + " | ".join(cell(key, c) for c in [*scenes, "avg"]) + " |")
        md.append("")
    per_type = {}
    for m in methods:
        per_type[m] = {}
        for t in type_columns(per_scene, scenes, methods):
            vals = [per_scene[s][m]["auc_per_type"][t] for s in scenes if t in per_scene[s][m].get("auc_per_type", {})]
            per_type[m][t] = float(np.nanmean(vals)) if vals else float("nan")
    present = [
        t for t in type_columns(per_scene, scenes, methods) if any(not np.isnan(per_type[m][t]) for m in per_type)
    ]
    labels = {m: per_scene[scenes[0]][m]["label"] for m in methods}
    if present:  # only when the footage has per-frame anomaly types (test_types/)
        md += [
            "### AUC (%) per anomaly type (each type vs normal frames, scene norm, averaged over scenes)",
            "",
            "| method | " + " | ".join(present) + " |",
            "|---" * (len(present) + 1) + "|",
        ]
        best = {t: _bold_best({m: per_type[m][t] for m in per_type}, set(per_type)) for t in present}
        for m, vals in per_type.items():
            md.append(
                f"| {labels[m]} | "
                + " | ".join(f"**{100 * vals[t]:.1f}**" if m in best[t] else f"{100 * vals[t]:.1f}" for t in present)
                + " |"
            )
        md.append("")
    alerts = {
        f"{d}/{m}": per_scene[d][m]["alerts"]
        for d in pipe["devices"]
        if d in per_scene
        for m in methods
        if "alerts" in per_scene[d][m]
    }
    if alerts:
        md += [
            "### Alerts at the calibrated threshold (devices; the threshold set on the device's calibration footage "
            "where it has some, else on held-out training footage: docs/alerts.md)",
            "",
            "| device / method | threshold set on | target false-alarm rate | false-alarm rate (test normal frames) "
            "| recall (test anomalous frames) | anomalous spans alerted | false alerts (per 1,000 normal frames) "
            "| AUC of the calibrated score |",
            "|---" * 8 + "|",
        ]
        for k, a in alerts.items():
            d, m = k.split("/")
            md.append(
                f"| {d} / {labels[m]} | {a.get('threshold_from', 'held-out training footage')} "
                f"| {100 * a['target_false_alarm_rate']:.1f} % "
                f"| {100 * a['test_false_alarm_rate']:.1f} % | {100 * a['test_recall']:.1f} % "
                f"| {a['spans_alerted']} / {a['anomalous_spans']} | {a['false_alerts']} ({a['false_alerts_per_1000']:.1f}) "
                f"| {100 * a['auc_calibrated']:.1f} |"
            )
        md.append("")
    usable = _usable_detectors(params, per_scene, labels)
    if usable:
        min_auc = float(pipe["promote_min_auc"])
        md += [
            f"### Usable detector per device (best of pipeline.promote_methods; usable: AUC >= promote_min_auc = "
            f"{min_auc:g} %"
            + ("; one whose threshold alerts a labelled span goes first" if pipe["promote_alerting"] else "")
            + ")",
            "",
            "| device | best method | AUC (scene norm) | alerts a labelled span | usable |",
            "|---|---|---|---|---|",
        ]
        md += [
            f"| {d} | {u['label']} | {100 * u['auc']:.1f} | {_YES_NO.get(u['alerts'], '–')} | "
            + ("yes" if u["usable"] else f"**no usable detector** ({min_auc - auc_pct(u['auc']):.1f} points short)")
            + " |"
            for d, u in usable.items()
        ]
        md.append("")
    md += [
        "Every method is shown on every scene, unselected: which method becomes a device's champion is decided "
        "by `ipad promote` on the device's labelled footage (pipeline.promote_methods), and only at or above "
        "pipeline.promote_min_auc.",
        "",
    ]
    result = {
        "scenes": scenes,
        "methods": methods,
        "labels": {k: lab for k, lab, _ in rows},
        "auc": tables,
        "auc_per_type": per_type,
        "alerts": alerts,
        "usable": usable,
        "summary": {k: tables["scene_norm"][k]["avg"] for k, _, _ in rows},
    }
    reports = Path(pipe["reports_root"])
    write_json(reports / "results.json", result)
    write_text(reports / "results.md", "\n".join(md) + "\n")
    write_json(
        Path(pipe["metrics_root"]) / "summary.json",  # `dvc metrics show`: percent, as the report shows it
        {f"auc_pct_{k.replace(':', '_')}": round(auc_pct(v), 2) for k, v in result["summary"].items()},
    )
    if plots:
        manifest = read_dataframe(params["data"]["manifest"])
        for s in scenes:
            plot_scene(params, s, methods, per_scene[s], scene_fps(manifest, s))
    return result


def _usable_detectors(params: dict, per_scene: dict, labels: dict) -> dict:
    """Per device: the method promotion would pick (registry/promotion.best_candidate over the
    promote_methods' scene-norm AUCs and, with pipeline.promote_alerting, whether each one's threshold
    alerted a labelled span), whether it alerts and whether it reaches pipeline.promote_min_auc
    (percent); its `auc` a fraction, as every AUC of ``results.json``."""
    pipe = params["pipeline"]
    min_auc = float(pipe["promote_min_auc"])
    out = {}
    for d in pipe["devices"]:
        evals = {m: per_scene[d][m] for m in pipe["promote_methods"] if d in per_scene and m in per_scene[d]}
        if evals:
            aucs = {m: auc_pct(e["auc"]["scene_norm"]["score"]) for m, e in evals.items()}
            alerting = {m: alerts_on_test(e) for m, e in evals.items()}
            best = best_candidate(
                aucs, pipe["promote_methods"], alerting if pipe["promote_alerting"] else None, min_auc
            )
            out[d] = {
                "method": best,
                "label": labels.get(best, best),
                "auc": evals[best]["auc"]["scene_norm"]["score"],
                "alerts": alerting.get(best),
                "usable": usable(aucs[best], min_auc),
            }
    return out
