"""How IPAD-VAD's two scores are weighed, and how its period error's window is anchored (issue 25,
docs/quality.md §9): the models of a ``bench_quality.py --work DIR`` run rescored, nothing retrained.

    python benchmarks/bench_quality.py --seeds 0[,1,2] --methods ipad_vad --work DIR --out ...
    python benchmarks/diagnose_period_error.py --work DIR [--seeds 0,1,2]

Per scene (the base for the pretraining scenes, each device's adapted model for the devices), the
mean scene-norm AUC of the combined score with its two scores put on one scale by: min-max over the
test scene (``evaluate.fusion: scene``), mean and standard deviation of the scene's normal training
footage, and its median and MAD (``fusion: normal``, ``evaluate/fusion.py``). Then the period error
E_p (eq. 8) with its reference drawn through the centre clip's t_p (the paper) or through the circular
mean of t_p^{t+i} - i * step over the window (``evaluate.period_anchor``, ``models/sliding_window.py``),
for windows of 5 and 9 clips (``--windows``), alone and summed on the median/MAD scale; and the sum with the
period error weighed by each of ``--weights`` (``evaluate.period_weight``). The fusion rows use the
settings' own window and anchor (before 2026-12-05's afternoon: 5 and centre).
Writes ``benchmarks/results/<out>.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402
from bench_quality import SRC, seed_params  # noqa: E402

from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.data.manifest import build_manifest  # noqa: E402
from ipad_vad.evaluate.fusion import SCALE_FLOOR, NormalScale, normal_scale  # noqa: E402
from ipad_vad.evaluate.metrics import scene_metrics  # noqa: E402
from ipad_vad.evaluate.protocols import scene_auc  # noqa: E402
from ipad_vad.evaluate.scoring import ClipScorer  # noqa: E402
from ipad_vad.jobs.evaluate import evaluate, training_scores  # noqa: E402
from ipad_vad.jobs.layout import role  # noqa: E402
from ipad_vad.methods import get_method, load_model_file  # noqa: E402
from ipad_vad.methods.adaptation import load_adapted  # noqa: E402
from ipad_vad.models.sliding_window import period_error  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
METHOD = "ipad_vad"


def per_video(df, anchor: str, n_classes: int, window: int, step: float, col: str = "t_p") -> np.ndarray:
    """E_p of every clip, each video's t_p (column `col`) in temporal order, concatenated in the frame's
    order (the scored clips come video by video); `anchor`: "centre" (eq. 8) or "window"."""
    if (np.diff(df.video_index.to_numpy()) < 0).any():
        raise ValueError("scored clips are not video by video")
    return np.concatenate(
        [
            period_error(g[col].to_numpy(), n_classes, window, step, anchor)
            for _, g in df.groupby("video_index", sort=True)
        ]
    )


def alone_auc(test, col: str) -> float:
    """Scene-norm AUC of one column of the scored test clips."""
    groups = [g for _, g in test.groupby("video_index", sort=True)]
    return scene_auc([g.label.to_numpy() for g in groups], [g[col].to_numpy() for g in groups])


def fused_auc(test, normal, weights: dict[str, float]) -> float:
    """AUC of sum_c w_c z_c(test), each column c on the median/MAD scale of the normal footage's."""
    names = tuple(weights)
    scale = normal_scale({c: normal[c].to_numpy() for c in names}, names)
    groups = [g for _, g in test.groupby("video_index", sort=True)]
    fused = [sum(w * scale.standardise(c, g[c]) for c, w in weights.items()) for g in groups]
    return scene_auc([g.label.to_numpy() for g in groups], fused, "scene")


def flatten(row: dict) -> dict[str, float]:
    """A scene's figures as {"fusion_<rule>" | "period_<anchor>_n<window>_<alone|summed>": AUC}."""
    out = {f"fusion_{k}": v for k, v in row["fusion"].items()}
    for k, v in row["period_error"].items():
        out.update({f"period_{k}_{part}": auc for part, auc in v.items()})
    out.update({f"weight_{w}": auc for w, auc in row.get("weight", {}).items()})
    return out


def mean_std_scale(values, names) -> NormalScale:
    c = {n: float(np.mean(values[n])) for n in names}
    s = {n: max(float(np.std(values[n])), SCALE_FLOOR) for n in names}
    return NormalScale(c, s, len(values[names[0]]))


def summed_auc(test, normal, period_col: str, weight: float = 0.5) -> float:
    """AUC of (1 - weight) * z(recon) + weight * z(period_col), both on the median/MAD scale of `normal`."""
    return fused_auc(test, normal, {"recon_error": 1 - weight, period_col: weight})


def scene_rows(p: dict, root: Path, windows: list[int], weights: list[float]) -> dict:
    """Every scene's figures for the models of one seed (`root`: its ipad_vad folder)."""
    p = {**p, "evaluate": {**p["evaluate"], "fusion": "scene"}}  # the normal footage is scored below, once
    manifest = build_manifest(Path(p["data"]["root"]), sample_decode=1)
    method = get_method(METHOD, p)
    names = method.active_components()
    scenes = {}
    for s in p["pipeline"]["pretrain_scenes"] + p["pipeline"]["devices"]:
        device = role(p, s) == "devices"
        model = load_adapted(root / "adapters" / s)[1] if device else load_model_file(root / "base" / "model.pt")[1]
        test, metrics, ctx = evaluate(p, method, model, manifest, s, SRC, progress=False)
        normal = training_scores(
            p, ClipScorer(method, p["evaluate"]["batch_size"], "cpu", False), model, manifest, s, SRC, ctx
        )
        fused = {
            "mean_std": scene_metrics(test, method, {}, mean_std_scale(normal, names)),
            "median_mad": scene_metrics(test, method, {}, normal_scale(normal, names)),
        }
        row = {
            "device": device,
            "fusion": {
                "scene_minmax": metrics["auc"]["scene_norm"]["score"],
                **{k: m["auc"]["scene_norm"]["score"] for k, m in fused.items()},
            },
            "period_error": {},
        }
        for n in windows:
            for anchor in ("centre", "window"):
                col = f"pe_{anchor}_{n}"
                for df in (test, normal):
                    df[col] = per_video(df, anchor, ctx.n_classes, n, ctx.period_step)
                row["period_error"][f"{anchor}_n{n}"] = {
                    "alone": alone_auc(test, col),
                    "summed": summed_auc(test, normal, col),
                }
        # the period error's weight in the sum (evaluate.period_weight), at the settings' window and anchor
        row["weight"] = {f"{w:g}": summed_auc(test, normal, "period_error", w) for w in weights}
        scenes[s] = row
        print(s, {k: round(100 * v, 1) for k, v in row["fusion"].items()}, flush=True)
    return scenes


def summarise(scenes: dict) -> dict:
    """Mean of each figure over all scenes and over the devices."""
    flat = {s: flatten(r) for s, r in scenes.items()}
    return {
        k: {
            "all": float(np.mean([v[k] for v in flat.values()])),
            "devices": float(np.mean([flat[s][k] for s, r in scenes.items() if r["device"]])),
        }
        for k in next(iter(flat.values()))
    }


def work_arguments(description: str, out: str) -> argparse.ArgumentParser:
    """The arguments of a rescoring of a ``bench_quality.py --work`` run's IPAD-VAD models."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--work", required=True, help="the --work folder of a bench_quality.py run with ipad_vad")
    ap.add_argument("--seeds", default="0", help="comma-separated seeds of that run")
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--out", default=out)
    return ap


def rescore_seeds(args, rows, summarise) -> None:
    """Each seed's kept models rescored (``rows(params, root)``: the scenes' figures), each figure's mean
    over the seeds printed with the seeds' own, and all of it written to ``benchmarks/results/<out>.json``."""
    params = load_params(ROOT / "params.yaml", args.profile)
    per_seed = {}
    for seed in (int(x) for x in args.seeds.split(",")):
        root = Path(args.work) / f"seed{seed}" / METHOD
        if not (root / "adapters").is_dir():
            raise SystemExit(f"{root / 'adapters'}: no adapted {METHOD} models (run bench_quality.py --work first)")
        scenes = rows(seed_params(params, seed, Path(args.work)), root)
        per_seed[str(seed)] = {"summary": summarise(scenes), "scenes": scenes}
    summary = {
        k: {part: float(np.mean([r["summary"][k][part] for r in per_seed.values()])) for part in ("all", "devices")}
        for k in next(iter(per_seed.values()))["summary"]
    }
    for k, v in summary.items():
        seeds = " / ".join(f"{100 * r['summary'][k]['all']:.1f}" for r in per_seed.values())
        print(f"{k}: {100 * v['all']:.1f} (seeds {seeds}; devices {100 * v['devices']:.1f})")
    write_result(args.out, {"work": str(args.work), "summary": summary, "per_seed": per_seed})


def main() -> None:
    ap = work_arguments(__doc__.split("\n\n")[0], "experiments/diagnose_period_error")
    ap.add_argument("--windows", default="5,9", help="comma-separated odd windows (clips) of the period error")
    ap.add_argument(
        "--weights",
        default="0.5",
        help="comma-separated weights of the period error in the sum (evaluate.period_weight; 1 - w on the "
        "reconstruction), at the settings' window and anchor",
    )
    args = ap.parse_args()
    windows = [int(x) for x in args.windows.split(",")]
    weights = [float(x) for x in args.weights.split(",")]
    rescore_seeds(args, lambda p, root: scene_rows(p, root, windows, weights), summarise)


if __name__ == "__main__":
    main()
