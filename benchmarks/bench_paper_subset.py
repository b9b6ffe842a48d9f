"""The paper profile's model sizes on a GPU, end to end on a subset of scenes that fits one short
run: synth -> manifest -> decoded cache + periods -> pretrain IPAD-VAD -> LoRA fine-tune on a device
-> evaluate (both AUC protocols) -> calibrate the alert threshold on held-out normal footage.

    python benchmarks/bench_paper_subset.py [--profile paper] [--pretrain S01] [--device R01]
        [--epochs 3] [--adapt-epochs 2] [--train-videos 2] [--train-cycles 6] [--test-videos 4]

The same library calls as the pipeline's stages, without Prefect, DVC and MLflow (a GPU worker of
the cluster runs those; this script measures the GPU work itself). Writes
benchmarks/results/paper_subset_<device>.json with the stage timings, training clips/s and AUCs.
With --profile smoke it runs in a minute on a CPU (how it is tested).
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from _common import write_result  # noqa: E402

from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.data.manifest import build_manifest  # noqa: E402
from ipad_vad.data.synth.generator import SynthConfig, generate  # noqa: E402
from ipad_vad.jobs.adapt import adapt_to_device  # noqa: E402
from ipad_vad.jobs.calibrate import alert_metrics, calibrate  # noqa: E402
from ipad_vad.jobs.data import DataSource  # noqa: E402
from ipad_vad.jobs.evaluate import evaluate  # noqa: E402
from ipad_vad.jobs.layout import prepared  # noqa: E402
from ipad_vad.jobs.pretrain import fit_method  # noqa: E402
from ipad_vad.jobs.settings import AdaptSettings, AlertSettings  # noqa: E402
from ipad_vad.methods import FitHooks, get_method  # noqa: E402
from ipad_vad.methods.adaptation import load_adapted  # noqa: E402
from ipad_vad.preprocess.cache import cache_scene  # noqa: E402
from ipad_vad.preprocess.period import period_scene  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
METHOD = "ipad_vad"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="paper")
    ap.add_argument("--pretrain", default="S01")
    ap.add_argument("--device", default="R01")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--adapt-epochs", type=int, default=2)
    ap.add_argument("--train-videos", type=int, default=2)
    ap.add_argument("--train-cycles", type=int, default=6)
    ap.add_argument("--test-videos", type=int, default=4)
    ap.add_argument("--test-cycles", type=int, default=3)
    ap.add_argument("--work", default=None, help="work folder (default: a temporary one)")
    args = ap.parse_args()
    p = load_params(ROOT / "params.yaml", args.profile)
    pre = args.pretrain.split(",")
    p = copy.deepcopy(p)
    work = Path(args.work or tempfile.mkdtemp(prefix="paper_subset_"))
    p["pipeline"].update(
        scenes=pre + [args.device],
        pretrain_scenes=pre,
        devices=[args.device],
        pretrain_data="pretrain",
        prepared_root=str(work / "prepared"),
    )
    p["train"]["epochs"], p["adapt"]["epochs"] = args.epochs, args.adapt_epochs
    p["train"]["num_workers"] = min(p["train"]["num_workers"], 8)
    timings, t0 = {}, time.perf_counter()

    def lap(name):
        nonlocal t0
        timings[name] = round(time.perf_counter() - t0, 1)
        print(f"{name}: {timings[name]} s", flush=True)
        t0 = time.perf_counter()

    cfg = SynthConfig.from_params(
        p["synth"],
        scenes=pre + [args.device],
        train_videos=args.train_videos,
        train_cycles=args.train_cycles,
        test_videos=args.test_videos,
        test_cycles=args.test_cycles,
        workers=min(16, p["synth"].get("workers", 2)),
    )
    summary = generate(work / "data", cfg, force=True)
    lap("synth")
    manifest = build_manifest(work / "data", sample_decode=1)
    frames = {s: int(manifest[manifest.scene == s].n_frames.sum()) for s in manifest.scene.unique()}
    lap("manifest")
    for s in pre + [args.device]:
        cache_scene(manifest, s, tuple(p["clip"]["size"]), prepared(p, s, "cache"))
        per = p["period"]
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
    lap("prepare")
    src = DataSource.PREPARED  # the decoded cache and periods written above, as the pipeline's stages read
    base = fit_method(
        p,
        METHOD,
        manifest,
        pre,
        work / "base",
        src,
        FitHooks(on_epoch_end=lambda e, m: print(f"  pretrain epoch {e}: {m}", flush=True), progress=False),
    )
    lap("pretrain")
    meta = adapt_to_device(
        p,
        METHOD,
        args.device,
        FitHooks(on_epoch_end=lambda e, m: print(f"  adapt epoch {e}: {m}", flush=True), progress=False),
        manifest=manifest,
        base_path=work / "base/model.pt",
        out_dir=work / "adapter",
        source=src,
    )
    lap("adapt")
    _, model = load_adapted(work / "adapter")
    method = get_method(METHOD, p)  # scoring settings of this run (evaluate.*), as the pipeline's evaluation
    scored, metrics, ctx = evaluate(p, method, model, manifest, args.device, src, progress=False)
    lap("evaluate")
    cal = calibrate(
        p,
        method,
        model,
        manifest,
        args.device,
        ctx,
        src,
        AdaptSettings.from_params(p),
        AlertSettings.from_params(p),
        progress=False,
    )
    alerts = alert_metrics(scored, cal)
    lap("calibrate")
    result = {
        "profile": args.profile,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "scenes": {"pretrain": pre, "device": args.device},
        "frames": frames,
        "synth_frames": summary.get("frames"),
        "clip": [p["clip"]["length"], *p["clip"]["size"]],
        "epochs": args.epochs,
        "adapt_epochs": args.adapt_epochs,
        "pretrain_clips": base["clips"],
        "parameters": base["parameters"],
        "pretrain_clips_per_s": round(base["clips"] * args.epochs / timings["pretrain"], 1),
        "lora_trainable": meta.get("trainable"),
        "timings_s": timings,
        "auc": {k: v for k, v in metrics["auc"].items()},
        "auc_per_type": metrics.get("auc_per_type"),
        "alerts": {k: v for k, v in alerts.items() if k != "videos"},
        "calibration_source": cal.source,
        "final_loss": {"pretrain": base["history"][-1], "adapt": meta["history"][-1]},
    }
    write_result(f"paper_subset_{args.profile}_{result['device']}", result)


if __name__ == "__main__":
    main()
