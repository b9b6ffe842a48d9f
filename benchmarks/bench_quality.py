"""Detection quality of every method over several generator seeds (issue 12).

    python benchmarks/bench_quality.py [--seeds 0,1,2] [--methods ipad_vad,conv_ae,knn | all]
        [--profile demo] [--table3 [METHOD]] [--table3-all-seeds] [--set KEY=VALUE ...] [--merge] [--docs]
        [--work DIR] [--out bench_quality]
    python benchmarks/bench_quality.py --markdown-only [--docs]      # tables again from the JSON
    make bench-quality                 # the figures of docs/quality-benchmark.md (--docs)
    make bench-quality-ablation        # the reference detector without each of its settings

For each generator seed: the synthetic benchmark at the profile's settings (``synth.seed`` = the
seed), its manifest, decoded cache and periods; then for each method the pipeline's own jobs, as
the DVC stages run them: the base fitted on the pretrain scenes (``jobs/pretrain.fit_method``),
adapted to every device (``jobs/adapt.adapt_to_device``: LoRA, full or refit as params say), every
scene scored (``jobs/evaluate.evaluate``: both AUC protocols, every component, per anomaly type) and
every device calibrated on its held-out normal footage (``jobs/calibrate``: the alert view). No
Prefect, DVC or MLflow: the numbers are the library's.

``--table3`` also reproduces seed 000's Table 3 on the devices for IPAD-VAD (the first seed only;
every seed with ``--table3-all-seeds``):
LoRA on 1/5 of a device's footage, full fine-tuning on all of it, and training from scratch on all
of it, AUC and wall time side by side; and LoRA on all of it and full fine-tuning on 1/5, which tell
a gap's share of footage from its kind of adaptation.

Writes ``benchmarks/results/<out>.json`` (``methods.<name>``: ``auc_scene_norm_mean``,
``auc_video_norm_mean`` (0-1, mean over seeds and scenes), ``auc_per_type``, ``auc_per_family``,
``auc_per_scene``, ``components``, ``spans_alerted_share``, ``false_alerts_per_1000``, ``fit_s``,
``adapt_s``, ``score_s`` (seconds per seed), per-seed means) and ``<out>.md`` (the tables of docs/quality-benchmark.md).
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from _common import RESULTS, apply_overrides, replace_block, write_result  # noqa: E402

from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.data.manifest import build_manifest  # noqa: E402
from ipad_vad.data.synth.anomalies import ANOMALY_TYPES  # noqa: E402
from ipad_vad.data.synth.generator import SynthConfig, generate  # noqa: E402
from ipad_vad.jobs.adapt import adapt_to_device  # noqa: E402
from ipad_vad.jobs.calibrate import alert_metrics, calibrate  # noqa: E402
from ipad_vad.jobs.data import DataSource  # noqa: E402
from ipad_vad.jobs.evaluate import evaluate  # noqa: E402
from ipad_vad.jobs.layout import prepared  # noqa: E402
from ipad_vad.jobs.pretrain import fit_method  # noqa: E402
from ipad_vad.jobs.settings import AdaptSettings, AlertSettings  # noqa: E402
from ipad_vad.methods import FitHooks, get_method, get_method_class, load_model_file, method_names  # noqa: E402
from ipad_vad.methods.adaptation import load_adapted  # noqa: E402
from ipad_vad.preprocess.cache import cache_scene  # noqa: E402
from ipad_vad.preprocess.period import period_scene  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SRC = DataSource.PREPARED
QUIET = FitHooks(progress=False)


def seed_params(p: dict, seed: int, work: Path) -> dict:
    """A copy of `p` for generator seed `seed` whose data, prepared data, models and evaluations lie in
    work/seed<k> (a diagnostic reads a ``--work`` run's folder through it)."""
    p = copy.deepcopy(p)
    root = work / f"seed{seed}"
    p["synth"]["seed"] = seed
    p["data"].update(root=str(root / "data"), manifest=str(root / "manifest.parquet"))
    for key in ("prepared_root", "models_root", "eval_root"):
        p["pipeline"][key] = str(root / key.split("_")[0])
    return p


def prepare_seed(p: dict, seed: int, work: Path) -> tuple[dict, object, float]:
    """Params pointing into work/seed<k> (``seed_params``), the generated data's manifest, and the
    seconds it took."""
    t = time.perf_counter()
    p = seed_params(p, seed, work)
    root = work / f"seed{seed}"
    scenes = p["pipeline"]["scenes"]
    generate(root / "data", SynthConfig.from_params(p["synth"], scenes=scenes), force=True)
    manifest = build_manifest(root / "data", sample_decode=1)
    per = p["period"]
    for s in scenes:
        cache_scene(manifest, s, tuple(p["clip"]["size"]), prepared(p, s, "cache"))
        period_scene(
            manifest,
            s,
            prepared(p, s, "cache"),
            prepared(p, s, "periods"),
            None,
            per["signal"],
            per["min_frames"],
            per["max_frames"],
            per["use_annotations"],
        )
    return p, manifest, time.perf_counter() - t


def score_scene(p: dict, method_name: str, model, manifest, scene: str, device: bool, keep: dict | None = None) -> dict:
    """One scene's metrics (a device also calibrated: the alert view); `keep`: its scored clips go there."""
    method = get_method(method_name, p)
    scored, metrics, ctx = evaluate(p, method, model, manifest, scene, SRC, progress=False)
    if keep is not None:
        keep[scene] = scored
    out = {"auc": metrics["auc"], "auc_per_type": metrics.get("auc_per_type") or {}}
    if "phase" in metrics:  # a period head: how well it tells the phase (models/period_head.phase_accuracy)
        out["phase"] = metrics["phase"]
    if device:
        cal = calibrate(
            p,
            method,
            model,
            manifest,
            scene,
            ctx,
            SRC,
            AdaptSettings.from_params(p),
            AlertSettings.from_params(p),
            progress=False,
        )
        out["alerts"] = {k: v for k, v in alert_metrics(scored, cal).items() if k != "videos"}
    return out


PA = "+pa"  # a row `<method>+pa`: the method trained with pseudo-anomalies (issue 14)


def with_pseudo_anomalies(p: dict, method_name: str) -> dict:
    """Params in which `method_name` trains with the PAs of seed 002's method: its p_s and p_order
    (``methods.pseudo_anomaly.pseudo_anomalies``; flow mixup only where the method reads flow)."""
    p = copy.deepcopy(p)
    mix = dict(p["methods"]["pseudo_anomaly"]["pseudo_anomalies"])
    if not get_method(method_name, p).reads_flow:
        mix.pop("temporal", None)
    section = p["methods"].setdefault(method_name, {}) or {}
    p["methods"][method_name] = {**section, "pseudo_anomalies": mix}
    return p


def row_label(p: dict, row: str) -> str:
    name = row.removesuffix(PA)
    return get_method(name, p).label + (" + PAs" if row.endswith(PA) else "")


def run_method(p: dict, row: str, manifest, work: Path, keep: dict | None = None) -> dict:
    """The pipeline's jobs for one method (a row: a method, or ``<method>+pa``) on one seed's data:
    timings and per-scene metrics; `keep`: every scene's scored clips go there (by scene)."""
    method_name = row.removesuffix(PA)
    if row.endswith(PA):
        p = with_pseudo_anomalies(p, method_name)
    work = work / row if row != method_name else work
    pre, devices = p["pipeline"]["pretrain_scenes"], p["pipeline"]["devices"]
    t = time.perf_counter()
    history = fit_method(p, method_name, manifest, pre, work / method_name / "base", SRC, QUIET).get("history") or []
    fit_s = time.perf_counter() - t
    adapt_s = score_s = 0.0
    scenes = {}
    _, base = load_model_file(work / method_name / "base" / "model.pt")
    for s in pre:
        t = time.perf_counter()
        scenes[s] = score_scene(p, method_name, base, manifest, s, device=False, keep=keep)
        score_s += time.perf_counter() - t
    for d in devices:
        t = time.perf_counter()
        adapt_to_device(
            p,
            method_name,
            d,
            QUIET,
            manifest=manifest,
            base_path=work / method_name / "base" / "model.pt",
            out_dir=work / method_name / "adapters" / d,
            source=SRC,
        )
        adapt_s += time.perf_counter() - t
        t = time.perf_counter()
        _, model = load_adapted(work / method_name / "adapters" / d)
        scenes[d] = score_scene(p, method_name, model, manifest, d, device=True, keep=keep)
        score_s += time.perf_counter() - t
    return {
        "fit_s": fit_s,
        "fit_epochs": len(history),  # the base's: train.epochs, or fewer where train.plateau stopped it
        "fit_loss": [h.get("loss") for h in history],  # its mean loss per epoch (the shared trainer's)
        "adapt_s": adapt_s,
        "score_s": score_s,
        "scenes": scenes,
    }


def table3(p: dict, manifest, work: Path, method_name: str = "ipad_vad") -> dict:
    """Table 3 on the devices of one seed: LoRA on 1/5 vs full fine-tuning on all vs from scratch on all
    (the device's footage alone, the pretraining recipe), AUC and wall time; the base is ``run_method``'s.
    Two more rows cross the footage's share with the kind of adaptation (LoRA on all, full fine-tuning
    on 1/5), so that the table says which of the two a gap comes from.
    The 1/5 is ``adapt.fraction`` for IPAD-VAD and any trained method, or the method's own
    ``adapt_share_setting`` (a memory bank with ``bank_footage: all`` keeps all of the footage in its
    bank and trains its adapter on the first ``adapt_share`` of each recording instead)."""
    base = work / method_name / "base" / "model.pt"
    rows = {}
    variants = {  # the paper's three, then the two cells that tell the footage's share from the adaptation's kind
        "lora_1/5": ("lora", 0.2),
        "full_all": ("full", 1.0),
        "scratch_all": (None, 1.0),
        "lora_all": ("lora", 1.0),
        "full_1/5": ("full", 0.2),
    }
    for name, (adaptation, fraction) in variants.items():
        q = copy.deepcopy(p)
        if share := get_method_class(method_name).adapt_share_setting:  # the method's own key
            q["methods"][method_name][share] = fraction
        else:  # the share alone decides (adapt_footage: all would read all of it on the 1/5 rows)
            q["adapt"]["fraction"] = fraction
            q["methods"][method_name]["adapt_footage"] = "share"
        aucs, secs = {}, 0.0
        for d in p["pipeline"]["devices"]:
            out = work / "table3" / name.replace("/", "of") / d
            t = time.perf_counter()
            if adaptation is None:  # the device's own footage only, the pretraining budget (train.*)
                fit_method(q, method_name, manifest, [d], out, SRC, QUIET)
                _, model = load_model_file(out / "model.pt")
            else:
                q["methods"][method_name]["adaptation"] = adaptation
                adapt_to_device(q, method_name, d, QUIET, manifest=manifest, base_path=base, out_dir=out, source=SRC)
                _, model = load_adapted(out)
            secs += time.perf_counter() - t
            metrics = evaluate(q, get_method(method_name, q), model, manifest, d, SRC, progress=False)[1]
            aucs[d] = metrics["auc"]["scene_norm"]["score"]
        rows[name] = {"auc_per_device": aucs, "auc_mean": float(np.mean(list(aucs.values()))), "seconds": secs}
        print(f"  table 3 {name}: AUC {100 * rows[name]['auc_mean']:.1f}, {secs:.0f} s", flush=True)
    return rows


def table3_over_seeds(method_name: str, per_seed: dict[int, dict]) -> dict:
    """Table 3 of several seeds: each row's AUC and seconds averaged over them, every seed's kept."""
    seeds = sorted(per_seed)
    rows = {
        name: {
            "auc_mean": float(np.mean([per_seed[s][name]["auc_mean"] for s in seeds])),
            "seconds": float(np.mean([per_seed[s][name]["seconds"] for s in seeds])),
            "auc_per_seed": {str(s): per_seed[s][name]["auc_mean"] for s in seeds},
            "auc_per_device": {
                d: float(np.mean([per_seed[s][name]["auc_per_device"][d] for s in seeds]))
                for d in per_seed[seeds[0]][name]["auc_per_device"]
            },
        }
        for name in per_seed[seeds[0]]
    }
    return {"method": method_name, "seeds": seeds, "rows": rows, "per_seed": {str(s): per_seed[s] for s in seeds}}


def summarise(per_seed: dict[int, dict]) -> dict:
    """Means over seeds and scenes of one method's per-seed results."""
    seeds = sorted(per_seed)
    scenes = list(per_seed[seeds[0]]["scenes"])

    def mean(xs):
        xs = [x for x in xs if x is not None and not np.isnan(x)]
        return float(np.mean(xs)) if xs else None

    def auc(seed, scene, proto, comp="score"):
        return per_seed[seed]["scenes"][scene]["auc"][proto].get(comp)

    comps = [c for c in per_seed[seeds[0]]["scenes"][scenes[0]]["auc"]["scene_norm"] if c != "score"]
    types = sorted(
        {t for s in seeds for sc in scenes for t in per_seed[s]["scenes"][sc]["auc_per_type"]},
        key=lambda t: ANOMALY_TYPES[t]["code"] if t in ANOMALY_TYPES else 99,
    )
    per_type = {
        t: mean([per_seed[s]["scenes"][sc]["auc_per_type"].get(t) for s in seeds for sc in scenes]) for t in types
    }
    families: dict[str, list] = {}
    for t, v in per_type.items():
        families.setdefault(ANOMALY_TYPES.get(t, {}).get("family", "other"), []).append(v)
    alerts = [
        per_seed[s]["scenes"][sc]["alerts"] for s in seeds for sc in scenes if "alerts" in per_seed[s]["scenes"][sc]
    ]
    spans = sum(a["anomalous_spans"] for a in alerts)

    def phase(seeds_, scenes_, key="within_tolerance"):
        return mean([per_seed[s]["scenes"][sc].get("phase", {}).get(key) for s in seeds_ for sc in scenes_])

    return {
        "auc_scene_norm_mean": mean([auc(s, sc, "scene_norm") for s in seeds for sc in scenes]),
        "auc_video_norm_mean": mean([auc(s, sc, "video_norm") for s in seeds for sc in scenes]),
        "auc_scene_norm_per_seed": {str(s): mean([auc(s, sc, "scene_norm") for sc in scenes]) for s in seeds},
        "auc_scene_norm_min_scene": min(mean([auc(s, sc, "scene_norm") for s in seeds]) for sc in scenes),
        "auc_per_scene": {sc: mean([auc(s, sc, "scene_norm") for s in seeds]) for sc in scenes},
        "auc_per_type": per_type,
        "auc_per_family": {f: mean(v) for f, v in families.items()},
        "components": {
            c: {
                "auc_scene_norm_mean": mean([auc(s, sc, "scene_norm", c) for s in seeds for sc in scenes]),
                "auc_video_norm_mean": mean([auc(s, sc, "video_norm", c) for s in seeds for sc in scenes]),
            }
            for c in comps
        }
        if len(comps) > 1
        else {},
        "spans_alerted_share": (sum(a["spans_alerted"] for a in alerts) / spans) if spans else None,
        "false_alerts_per_1000": mean([a["false_alerts_per_1000"] for a in alerts]),
        "test_false_alarm_rate": mean([a["test_false_alarm_rate"] for a in alerts]),
        "phase_within_tolerance": phase(seeds, scenes),
        "phase_mean_circular_error": phase(seeds, scenes, "mean_circular_error"),
        "phase_per_scene": {sc: phase(seeds, [sc]) for sc in scenes},
        "fit_s": mean([per_seed[s]["fit_s"] for s in seeds]),
        "adapt_s": mean([per_seed[s]["adapt_s"] for s in seeds]),
        "score_s": mean([per_seed[s]["score_s"] for s in seeds]),
    }


TEMPORAL_TYPES = ("pause", "order", "speed", "missing_step")
# issue 25's targets: IPAD-VAD's mean AUC, and every seed method's (seeds 001-003: INFP, the pseudo-anomaly
# AEs, local patterns)
IPAD_VAD_TARGET = 0.75
SEED_METHODS = ("infp", "pseudo_anomaly", "local_patterns")
SEED_METHOD_TARGET = 0.70


def targets(ms: dict, labels: dict[str, str]) -> list[tuple[str, str, bool]]:
    """Issue 12's targets (and issue 13's and 14's, when their methods are in the result) against a result's methods:
    (target, measured, met)."""
    best = max(ms, key=lambda n: ms[n]["auc_scene_norm_mean"])
    b = ms[best]
    worst_type = min(b["auc_per_type"], key=lambda t: b["auc_per_type"][t])
    worst_scene = min(b["auc_per_scene"], key=lambda sc: b["auc_per_scene"][sc])
    rows = [
        (
            "best method ≥ 90 mean AUC",
            f"{labels[best]} {100 * b['auc_scene_norm_mean']:.1f}",
            b["auc_scene_norm_mean"] >= 0.9,
        ),
        (
            "every anomaly type ≥ 80 for it",
            f"lowest: {worst_type} {100 * b['auc_per_type'][worst_type]:.1f}",
            b["auc_per_type"][worst_type] >= 0.8,
        ),
        (
            "no scene below 70",
            f"lowest: {worst_scene} {100 * b['auc_per_scene'][worst_scene]:.1f}",
            b["auc_per_scene"][worst_scene] >= 0.7,
        ),
    ]
    if "ipad_vad" in ms and "knn" in ms:
        d = ms["ipad_vad"]["auc_scene_norm_mean"] - ms["knn"]["auc_scene_norm_mean"]
        rows.append(("IPAD-VAD above the reference detector", f"{100 * d:+.1f}", d > 0))
    if "ipad_vad" in ms and "v_swin_ae" in ms:
        gains = {
            t: ms["ipad_vad"]["auc_per_type"].get(t, float("nan"))
            - ms["v_swin_ae"]["auc_per_type"].get(t, float("nan"))
            for t in TEMPORAL_TYPES
        }
        rows.append(
            (
                "period parts (IPAD-VAD − V-Swin-T) ≥ +5 on pause, order, speed, missing step",
                ", ".join(f"{t} {100 * g:+.1f}" for t, g in gains.items()),
                all(g >= 0.05 for g in gains.values()),
            )
        )
    else:
        rows.append(
            (
                "period parts (IPAD-VAD − V-Swin-T) ≥ +5 on pause, order, speed, missing step",
                "V-Swin-T not in this run (`--methods ipad_vad,v_swin_ae,...`)",
                False,
            )
        )
    if "ipad_vad" in ms:  # issue 25: a period head that is a clock
        ph = ms["ipad_vad"].get("phase_within_tolerance")
        rows.append(
            (
                "IPAD-VAD's period head within ±5 % of the cycle on ≥ 80 % of normal test clips",
                "not measured" if ph is None else f"{100 * ph:.1f} % (chance 10 %)",
                ph is not None and ph >= 0.8,
            )
        )
    if "ipad_vad" in ms:  # issue 25
        v = ms["ipad_vad"]["auc_scene_norm_mean"]
        rows.append((f"IPAD-VAD ≥ {100 * IPAD_VAD_TARGET:.0f}", f"{100 * v:.1f}", v >= IPAD_VAD_TARGET))
    if seed_rows := [n for n in SEED_METHODS if n in ms]:  # issue 25: every seed method, the ones in this result
        rows.append(
            (
                f"every seed method ≥ {100 * SEED_METHOD_TARGET:.0f}",
                ", ".join(f"{labels[n]} {100 * ms[n]['auc_scene_norm_mean']:.1f}" for n in seed_rows),
                all(ms[n]["auc_scene_norm_mean"] >= SEED_METHOD_TARGET for n in seed_rows),
            )
        )
    if "infp" in ms and "ipad_vad" in ms:  # issue 13
        d = ms["infp"]["auc_scene_norm_mean"] - ms["ipad_vad"]["auc_scene_norm_mean"]
        rows.append(("INFP ≥ IPAD-VAD (the paper: +3.2)", f"{100 * d:+.1f}", d >= 0))
    if all(n in ms for n in ("infp", "infp_baseline", "infp_fusion", "infp_filter")):  # seed 001 Table 2
        base = ms["infp_baseline"]["auc_scene_norm_mean"]
        gains = {n: ms[n]["auc_scene_norm_mean"] - base for n in ("infp_fusion", "infp_filter", "infp")}
        rows.append(
            (
                "INFP Table 2: +Fusion, +Filter, both above the baseline (the paper: +7.2, +5.9, +10.5)",
                ", ".join(f"{labels[n]} {100 * g:+.1f}" for n, g in gains.items()),
                all(g > 0 for g in gains.values()),
            )
        )
    if "pseudo_anomaly" in ms and "pseudo_anomaly_baseline" in ms:  # issue 14
        d = ms["pseudo_anomaly"]["auc_scene_norm_mean"] - ms["pseudo_anomaly_baseline"]["auc_scene_norm_mean"]
        rows.append(
            ("PAs raise the AEs they train by ≥ 3 (seed 002 method vs its baseline)", f"{100 * d:+.1f}", d >= 0.03)
        )
    with_pa = [n for n in ms if n.endswith(PA) and n.removesuffix(PA) in ms]
    if with_pa:
        gains = {n: ms[n]["auc_scene_norm_mean"] - ms[n.removesuffix(PA)]["auc_scene_norm_mean"] for n in with_pa}
        rows.append(
            (
                "PAs as a training option help (with − without)",
                ", ".join(f"{labels[n.removesuffix(PA)]} {100 * g:+.1f}" for n, g in gains.items()),
                all(g > 0 for g in gains.values()),
            )
        )
    if "feature_bank" in ms and "feature_bank_random" in ms:  # issue 25: a learned method that earns its training
        fb, rnd = ms["feature_bank"]["auc_scene_norm_mean"], ms["feature_bank_random"]["auc_scene_norm_mean"]
        rows.append(
            (
                "learned features matter: the feature bank ≥ its random encoder + 10",
                f"{100 * fb:.1f} vs {100 * rnd:.1f} ({100 * (fb - rnd):+.1f})",
                fb - rnd >= 0.1,
            )
        )
        if "knn" in ms:
            ref = ms["knn"]["auc_scene_norm_mean"]
            rows.append(
                (
                    "the feature bank ≥ the reference detector and ≥ 90",
                    f"{100 * fb:.1f} vs {100 * ref:.1f} ({100 * (fb - ref):+.1f})",
                    fb >= ref and fb >= 0.9,
                )
            )
    rows += [
        (
            "≥ 90 % of anomalous spans alerted (best method)",
            f"{100 * (b['spans_alerted_share'] or 0):.1f} %",
            (b["spans_alerted_share"] or 0) >= 0.9,
        ),
        (
            "≤ 1 false alert per 1,000 normal frames (best method)",
            f"{b['false_alerts_per_1000']:.1f}",
            b["false_alerts_per_1000"] <= 1.0,
        ),
    ]
    return rows


def pct(v: float | None) -> str:
    """An AUC or share as a percent with one decimal; – where there is none."""
    return "–" if v is None else f"{100 * v:.1f}"


def table_head(caption: str, columns: list[str]) -> list[str]:
    """A markdown table's caption (a paragraph of its own), header and rule."""
    return ["", caption, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def markdown(result: dict, labels: dict[str, str]) -> str:
    ms = result["methods"]
    seeds = ", ".join(str(s) for s in result["seeds"])
    scenes = list(next(iter(ms.values()))["auc_per_scene"])
    lines = [
        f"Generator seeds {seeds}, profile `{result['profile']}`; AUC (%) is the mean over seeds and scenes.",
        "",
        "| method | scene norm | video norm | worst scene | spans alerted | false alerts / 1,000 normal frames "
        "| normal frames above threshold | fit s | adapt s | score s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, m in ms.items():
        lines.append(
            f"| {labels[n]} | **{pct(m['auc_scene_norm_mean'])}** | {pct(m['auc_video_norm_mean'])} "
            f"| {pct(m['auc_scene_norm_min_scene'])} | {pct(m['spans_alerted_share'])} % "
            f"| {m['false_alerts_per_1000']:.1f} | {pct(m['test_false_alarm_rate'])} % "
            f"| {m['fit_s']:.0f} | {m['adapt_s']:.0f} | {m['score_s']:.0f} |"
        )
        for c, v in m["components"].items():
            lines.append(
                f"| {labels[n]} — {c} alone | {pct(v['auc_scene_norm_mean'])} | {pct(v['auc_video_norm_mean'])} "
                "| | | | | | | |"
            )
    types = list(next(iter(ms.values()))["auc_per_type"])
    lines += [
        "",
        "AUC (%) per anomaly type (each type against the normal frames, scene norm):",
        "",
        "| method | " + " | ".join(types) + " |",
        "|---|" + "---|" * len(types),
    ]
    lines += [
        f"| {labels[n]} | " + " | ".join(pct(m["auc_per_type"].get(t)) for t in types) + " |" for n, m in ms.items()
    ]
    lines += [
        "",
        "AUC (%) per scene (scene norm):",
        "",
        "| method | " + " | ".join(scenes) + " |",
        "|---|" + "---|" * len(scenes),
    ]
    lines += [
        f"| {labels[n]} | " + " | ".join(pct(m["auc_per_scene"][s]) for s in scenes) + " |" for n, m in ms.items()
    ]
    heads = {n: m for n, m in ms.items() if m.get("phase_within_tolerance") is not None}
    if heads:
        lines += table_head(
            "Period head: share (%) of normal test clips whose t_p is within ±5 % of a cycle of the annotated "
            "phase (chance 10 %), per scene, and the mean circular error (% of a cycle):",
            ["method", "all", *scenes, "mean error"],
        )
        lines += [
            f"| {labels[n]} | **{pct(m['phase_within_tolerance'])}** | "
            + " | ".join(pct(m["phase_per_scene"][s]) for s in scenes)
            + f" | {pct(m['phase_mean_circular_error'])} |"
            for n, m in heads.items()
        ]
    lines += ["", "Targets of issues 12, 13, 14 and 25 (this run):", "", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {t} | {v} | {'yes' if ok else '**no**'} |" for t, v, ok in targets(ms, labels)]
    return "\n".join(lines) + "\n" + table3_markdown(result, labels)


def table3_markdown(result: dict, labels: dict[str, str]) -> str:
    """Table 3 of a result (a method's over every seed, or seed 000's of IPAD-VAD) and issue 25's two
    targets for it; empty without one. Closes `markdown` and fills docs/demo-results.md's block."""
    t3, lines, t3_targets = result.get("table3"), [], []
    if t3 and {"lora_1/5", "full_all", "scratch_all"} <= set(t3.get("rows", {})):  # issue 25's Table 3 targets
        r = t3["rows"]
        lora, full, scratch = (r[k]["auc_mean"] for k in ("lora_1/5", "full_all", "scratch_all"))
        time_share = r["lora_1/5"]["seconds"] / r["full_all"]["seconds"]
        t3_targets += [
            "",
            "| Table 3 target | measured | met |",
            "|---|---|---|",
            f"| pretrained + LoRA ≥ scratch + 5 | {pct(lora)} vs {pct(scratch)} ({100 * (lora - scratch):+.1f}) | "
            f"{'yes' if lora - scratch >= 0.05 else '**no**'} |",
            f"| LoRA within 2 of full fine-tuning at ≤ 1/3 of its time | {100 * (lora - full):+.1f} at "
            f"{time_share:.2f}× the time | {'yes' if lora - full >= -0.02 and time_share <= 1 / 3 else '**no**'} |",
        ]
    if t3 and "rows" in t3:  # a method's Table 3 over every seed of the run
        seeds = ", ".join(str(s) for s in t3["seeds"])
        devices = list(next(iter(t3["rows"].values()))["auc_per_device"])
        lines += table_head(
            f"Table 3 on the devices ({labels.get(t3['method'], t3['method'])}, seeds {seeds}): adaptation "
            "data, mean AUC (%) over seeds and devices, per device, and wall time per seed (all devices):",
            ["variant", "mean AUC", *devices, "per seed", "seconds"],
        )
        lines += [
            f"| {k} | **{pct(v['auc_mean'])}** | "
            + " | ".join(pct(v["auc_per_device"][d]) for d in devices)
            + f" | {' / '.join(pct(a) for a in v['auc_per_seed'].values())} | {v['seconds']:.0f} |"
            for k, v in t3["rows"].items()
        ]
    elif t3:
        lines += [
            "",
            "Seed 000 Table 3 on the devices (IPAD-VAD, first seed): adaptation data, AUC and wall time:",
            "",
            "| variant | mean AUC (%) | seconds (all devices) |",
            "|---|---|---|",
        ]
        lines += [f"| {k} | {pct(v['auc_mean'])} | {v['seconds']:.0f} |" for k, v in t3.items()]
    return "\n".join(lines + t3_targets) + "\n" if lines else ""


def ablation_table(prefix: str) -> str:
    """One row per ``<prefix>_<variant>.json`` (same seeds): what was changed and the reference's figures,
    with the difference to ``<prefix>_final``."""
    runs = {
        f.stem.removeprefix(Path(prefix).name + "_"): json.loads(f.read_text())
        for f in sorted(RESULTS.glob(f"{prefix}_*.json"))
    }
    if "final" not in runs:
        raise SystemExit(f"no {prefix}_final.json in {RESULTS}")
    final = next(iter(runs["final"]["methods"].values()))
    lines = [
        "| variant | settings changed | scene norm | Δ to final | video norm | worst scene | spans alerted |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ["final", *sorted(k for k in runs if k != "final")]:
        r = runs[name]
        m = next(iter(r["methods"].values()))
        delta = 100 * (m["auc_scene_norm_mean"] - final["auc_scene_norm_mean"])
        lines.append(
            f"| {name} | {', '.join('`' + o + '`' for o in r.get('overrides', [])) or 'params.yaml'} "
            f"| **{pct(m['auc_scene_norm_mean'])}** | {delta:+.1f} | {pct(m['auc_video_norm_mean'])} "
            f"| {pct(m['auc_scene_norm_min_scene'])} | {pct(m['spans_alerted_share'])} % |"
        )
    return "\n".join(lines) + "\n"


QUALITY_DOC = ROOT / "docs" / "quality-benchmark.md"  # the page whose tables this benchmark writes
DEMO_DOC = ROOT / "docs" / "demo-results.md"  # ... and the demo report page, its Table 3


def update_docs(name: str, text: str, result: dict | None = None, labels: dict[str, str] | None = None) -> None:
    """Fill the ``<!-- name -->`` block of docs/quality-benchmark.md with `text` (a result in a subfolder,
    ablations/..., fills the block of its file name); the committed result's Table 3 (`result`) also fills
    the demo report page's ``<!-- bench_quality_table3 -->`` block (issue 25: the demo report shows it)."""
    replace_block(QUALITY_DOC, Path(name).name, text)
    if name == "bench_quality" and result is not None and (t3 := table3_markdown(result, labels or {})):
        replace_block(DEMO_DOC, "bench_quality_table3", t3)


def row_settings(profile: str, overrides: list[str], row: str) -> dict:
    """What a row's numbers depend on: every params section but ``methods`` and the row's method's own
    validated settings (a variant's merged over its parent's, a ``+pa`` row's pseudo-anomalies), under
    today's params.yaml with `overrides` applied."""
    p = apply_overrides(load_params(ROOT / "params.yaml", profile), overrides)
    name = row.removesuffix(PA)
    if row.endswith(PA):
        p = with_pseudo_anomalies(p, name)
    return {
        **{k: v for k, v in p.items() if k != "methods"},
        "method": get_method(name, p).settings.model_dump(mode="json"),
    }


def _differences(a: dict, b: dict, prefix: str = "") -> list[str]:
    out = []
    for k in sorted(set(a) | set(b)):
        x, y = a.get(k), b.get(k)
        if isinstance(x, dict) and isinstance(y, dict):
            out += _differences(x, y, f"{prefix}{k}.")
        elif x != y:
            out.append(f"{prefix}{k}: {x!r} vs {y!r}")
    return out


def parse_part(spec: str) -> tuple[str, list[str] | None]:
    """``NAME`` (every row of NAME.json) or ``NAME:ROW+ROW`` (those rows only)."""
    name, _, rows = spec.partition(":")
    return name, [r for r in rows.split("+") if r] if rows else None


def combine(parts: list[tuple[str, dict, list[str] | None]]) -> dict:
    """One result from results run apart: `parts` are (name, result, rows taken: None = all). They may
    differ in overrides where no row taken depends on the difference: each row's settings
    (``row_settings``) under its own part's overrides must equal those under the first part's, which the
    combined result records (e.g. the ablations of a setting they fix need no rerun when it changes).
    A row and seed given by two parts, another profile, or a row without every seed is refused."""
    first = parts[0][1]
    profile, overrides = first["profile"], first.get("overrides", [])
    if len({r["profile"] for _, r, _ in parts}) != 1:
        raise SystemExit(f"--combine: the results differ in profile: {sorted({r['profile'] for _, r, _ in parts})}")
    per_seed: dict[str, dict[int, dict]] = {}
    source: dict[tuple[str, int], str] = {}
    for name, r, rows in parts:
        unknown = sorted(set(rows or []) - set(r["per_seed"]))
        if unknown:
            raise SystemExit(f"--combine: {name} has no row {unknown[0]!r} (it has {sorted(r['per_seed'])})")
        for row in rows or list(r["per_seed"]):
            own = r.get("overrides", [])
            if own != overrides:
                diff = _differences(row_settings(profile, own, row), row_settings(profile, overrides, row))
                if diff:
                    raise SystemExit(
                        f"--combine: row {row} of {name} ran under other settings than {parts[0][0]}'s "
                        f"overrides give it: {'; '.join(diff[:5])}"
                    )
            for seed, v in r["per_seed"][row].items():
                if (row, int(seed)) in source:
                    raise SystemExit(
                        f"--combine: row {row} seed {seed} is in {source[row, int(seed)]} and {name}; "
                        f"name the rows each gives (NAME:ROW+ROW)"
                    )
                source[row, int(seed)] = name
                per_seed.setdefault(row, {})[int(seed)] = v
    seeds = sorted({s for v in per_seed.values() for s in v})
    missing = [f"{row} seed {s}" for row, v in per_seed.items() for s in seeds if s not in v]
    if missing:
        raise SystemExit(f"--combine: not every row has every seed: {missing}")
    t3s = [r["table3"] for _, r, _ in parts if "rows" in r.get("table3", {})]  # a method's Table 3, seeds apart
    if len({t["method"] for t in t3s}) > 1:
        raise SystemExit(f"--combine: Table 3 of different methods: {sorted({t['method'] for t in t3s})}")
    t3 = {int(s): v for t in t3s for s, v in t["per_seed"].items()}
    return {
        **({"table3": table3_over_seeds(t3s[0]["method"], t3)} if t3s else {}),
        "profile": profile,
        "overrides": overrides,
        "seeds": seeds,
        "scenes": first["scenes"],
        "pretrain_scenes": first["pretrain_scenes"],
        "devices": first["devices"],
        "methods": {row: summarise(v) for row, v in per_seed.items()},
        "per_seed": {row: {str(s): r for s, r in sorted(v.items())} for row, v in per_seed.items()},
        "prepare_s": {k: v for _, r, _ in parts for k, v in r.get("prepare_s", {}).items()},
        "total_s": max(r.get("total_s", 0) for _, r, _ in parts),
        "combined_from": len(parts),
        "combined": [
            {"part": name, "rows": rows or list(r["per_seed"]), "overrides": r.get("overrides", [])}
            for name, r, rows in parts
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument(
        "--methods",
        default="",
        help="comma-separated, 'all' (every registered method); "
        "default: pipeline.methods of the profile; <method>+pa: the method trained with pseudo-anomalies",
    )
    ap.add_argument("--profile", default="demo")
    ap.add_argument(
        "--table3",
        nargs="?",
        const="ipad_vad",
        metavar="METHOD",
        help="also Table 3 on the devices for METHOD (default ipad_vad; run among --methods): "
        "IPAD-VAD on the first seed only (as its committed row), any other method on every seed",
    )
    ap.add_argument(
        "--table3-all-seeds",
        action="store_true",
        help="Table 3 of IPAD-VAD on every seed too (its rows averaged over them, every seed's kept)",
    )
    ap.add_argument("--work", default=None, help="work folder (default: a temporary one, removed at the end)")
    ap.add_argument("--out", default="bench_quality", help="result name in benchmarks/results/")
    ap.add_argument(
        "--merge",
        action="store_true",
        help="keep the other methods of an existing <out>.json "
        "(same seeds, profile and overrides): rerun one method after a change",
    )
    ap.add_argument("--markdown-only", action="store_true", help="rewrite <out>.md from the existing <out>.json")
    ap.add_argument(
        "--combine",
        metavar="NAME[:ROW+ROW],...",
        help="write <out> from results run apart (one per seed or per row, e.g. in parallel on a GPU "
        "machine; NAME:ROW+ROW takes those rows only) and stop: same profile; other overrides only where "
        "no row taken depends on them (the first part's are the result's)",
    )
    ap.add_argument("--ablation-table", metavar="PREFIX", help="write <PREFIX>.md: a table of <PREFIX>_*.json and stop")
    ap.add_argument(
        "--docs",
        "--readme",
        dest="docs",
        action="store_true",
        help="also copy the tables into "
        "docs/quality-benchmark.md (between <!-- <out> --> markers; --readme: the old spelling)",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting (YAML value), e.g. synth.nuisance.jitter=0.036 or methods.knn.shift=1",
    )
    args = ap.parse_args()
    p = load_params(ROOT / "params.yaml", args.profile)
    if args.ablation_table:
        (RESULTS / f"{args.ablation_table}.md").write_text(ablation_table(args.ablation_table))
        print((RESULTS / f"{args.ablation_table}.md").read_text())
        if args.docs:
            update_docs(args.ablation_table, ablation_table(args.ablation_table))
        return
    if args.combine:
        specs = [parse_part(spec) for spec in args.combine.split(",")]
        result = combine([(n, json.loads((RESULTS / f"{n}.json").read_text()), rows) for n, rows in specs])
        write_result(args.out, result)
        args.markdown_only = True
    if args.markdown_only:
        result = json.loads((RESULTS / f"{args.out}.json").read_text())
        labels = {n: row_label(p, n) for n in result["methods"]}
        (RESULTS / f"{args.out}.md").write_text(markdown(result, labels))
        if args.docs:
            update_docs(args.out, markdown(result, labels), result, labels)
        return
    apply_overrides(p, args.set)
    names = (
        method_names()
        if args.methods == "all"
        else [m for m in args.methods.split(",") if m] or list(p["pipeline"]["methods"])
    )
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.table3 and args.table3 not in names:
        raise SystemExit(f"--table3 {args.table3}: add it to --methods (Table 3 adapts its base)")
    work = Path(args.work or tempfile.mkdtemp(prefix="bench_quality_"))
    per_method: dict[str, dict] = {n: {} for n in names}
    prepare_s, t3_seeds = {}, {}
    t_all = time.perf_counter()
    try:
        for seed in seeds:
            q, manifest, prepare_s[seed] = prepare_seed(p, seed, work)
            print(f"seed {seed}: data prepared in {prepare_s[seed]:.0f} s", flush=True)
            for n in names:
                r = run_method(q, n, manifest, work / f"seed{seed}")
                per_method[n][seed] = r
                m = np.mean([v["auc"]["scene_norm"]["score"] for v in r["scenes"].values()])
                print(
                    f"seed {seed} {n}: mean scene-norm AUC {100 * m:.1f} (fit {r['fit_s']:.0f} s, "
                    f"adapt {r['adapt_s']:.0f} s, score {r['score_s']:.0f} s)",
                    flush=True,
                )
            if args.table3 and (args.table3 != "ipad_vad" or seed == seeds[0] or args.table3_all_seeds):
                t3_seeds[seed] = table3(q, manifest, work / f"seed{seed}", args.table3)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    result = {
        "profile": args.profile,
        "overrides": args.set,
        "seeds": seeds,
        "scenes": p["pipeline"]["scenes"],
        "pretrain_scenes": p["pipeline"]["pretrain_scenes"],
        "devices": p["pipeline"]["devices"],
        "methods": {n: summarise(per_method[n]) for n in names},
        "per_seed": {
            n: {
                str(s): {
                    "scenes": r["scenes"],
                    **{k: r.get(k) for k in ("fit_s", "fit_epochs", "fit_loss", "adapt_s", "score_s")},
                }
                for s, r in per_method[n].items()
            }
            for n in names
        },
        "prepare_s": prepare_s,
        "total_s": time.perf_counter() - t_all,
    }
    t3 = None
    if t3_seeds and args.table3 == "ipad_vad" and not args.table3_all_seeds:
        t3 = t3_seeds[seeds[0]]  # the committed format: seed 000's rows
    elif t3_seeds:
        t3 = table3_over_seeds(args.table3, t3_seeds)
    if t3:
        result["table3"] = t3
    old_path = RESULTS / f"{args.out}.json"
    if args.merge and old_path.is_file():
        old = json.loads(old_path.read_text())
        if (old.get("seeds"), old.get("profile"), old.get("overrides", [])) != (seeds, args.profile, args.set):
            raise SystemExit(f"--merge: {old_path} has other seeds, profile or overrides; use another --out")
        for key in ("methods", "per_seed"):  # a rerun row keeps its place; a new one comes last
            result[key] = {**{n: result[key].get(n, v) for n, v in old[key].items()}, **result[key]}
        if "table3" in old and not t3:
            result["table3"] = old["table3"]
    write_result(args.out, result)
    labels = {n: row_label(p, n) for n in result["methods"]}
    md = RESULTS / f"{args.out}.md"
    md.write_text(markdown(result, labels))
    print(md.read_text())
    if args.docs:
        update_docs(args.out, markdown(result, labels), result, labels)


if __name__ == "__main__":
    main()
