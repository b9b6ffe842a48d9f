"""How much of a device's footage its period head needs (issue 25, item 2): IPAD-VAD's adapted models
of a ``bench_quality.py --work DIR`` run, the period head refitted alone on growing shares of each
device's normal training footage, its phase accuracy on the device's normal test clips.

    python benchmarks/bench_quality.py --seeds 0 --methods ipad_vad --work DIR --out ...
    python benchmarks/diagnose_period_head.py --work DIR [--seed 0] [--fractions 0.2,0.5,1.0]

The adaptation (LoRA on ``adapt.fraction`` of the footage) is kept as it was; only the head is fitted
again, with the settings of ``methods.ipad_vad.period`` (``train/period_head_fit.py``) on the first
share of each recording, as the adaptation reads it. Writes
``benchmarks/results/<out>.json``: per device and share, the training clips, the phase accuracy
(``models/period_head.phase_accuracy``) and that of the head as adapted.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402
from bench_quality import seed_params  # noqa: E402

from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.data.manifest import build_manifest  # noqa: E402
from ipad_vad.jobs.data import DataSource, clip_dataset  # noqa: E402
from ipad_vad.jobs.settings import AdaptSettings  # noqa: E402
from ipad_vad.methods import get_method  # noqa: E402
from ipad_vad.methods.adaptation import load_adapted  # noqa: E402
from ipad_vad.models.period_head import phase_accuracy  # noqa: E402
from ipad_vad.train.loop import prepare_batch  # noqa: E402
from ipad_vad.train.period_head_fit import fit_period_head  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
METHOD = "ipad_vad"


@torch.no_grad()
def head_phase_accuracy(model, dataset, n_classes: int, batch_size: int) -> dict | None:
    """The head's phase accuracy on the normal annotated clips of `dataset`."""
    model.eval()
    t_p, label, phase = [], [], []
    for batch in DataLoader(dataset, batch_size=batch_size):
        b = prepare_batch(batch, n_classes, "annotation", torch.device("cpu"))
        t_p.append(model.period_head(model.encoder(b["clip"])).argmax(-1))
        label.append(b["label"])
        phase.append(b["phase"].float())
    return phase_accuracy(*(torch.cat(x).numpy() for x in (t_p, phase, label)), n_classes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", required=True, help="the --work folder of a bench_quality.py run with ipad_vad")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fractions", default="0.2,0.5,1.0")
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--out", default="experiments/diagnose_period_head_footage")
    args = ap.parse_args()
    root = Path(args.work) / f"seed{args.seed}"
    if not (root / METHOD / "adapters").is_dir():
        raise SystemExit(
            f"{root / METHOD / 'adapters'}: no adapted {METHOD} models (run bench_quality.py --work first)"
        )
    p = seed_params(load_params(ROOT / "params.yaml", args.profile), args.seed, Path(args.work))
    manifest = build_manifest(root / "data", sample_decode=1)
    method = get_method(METHOD, p)
    per = method.settings.period
    base_settings = AdaptSettings.from_params(p).train_settings(p)
    fractions = [float(f) for f in args.fractions.split(",")]
    devices = {}
    for d in p["pipeline"]["devices"]:
        _, model = load_adapted(root / METHOD / "adapters" / d)
        train = clip_dataset(p, manifest, "training", [d], DataSource.PREPARED)
        test = clip_dataset(p, manifest, "testing", [d], DataSource.PREPARED, stride=1)
        row = {"as_adapted": head_phase_accuracy(model, test, method.n_classes, base_settings.batch_size), "refit": {}}
        for f in fractions:
            net = copy.deepcopy(model)
            for w in net.period_head.parameters():
                w.requires_grad_(True)
            settings = dataclasses.replace(base_settings, fraction=f)
            info = fit_period_head(
                net,
                train,
                settings,
                method.n_classes,
                per.fit_steps,
                per.fit_lr,
                per.fit_sigma,
                per.fit_stride,
                tol=per.fit_tol,
            )
            acc = head_phase_accuracy(net, test, method.n_classes, base_settings.batch_size)
            row["refit"][str(f)] = {"clips": info["clips"], **acc}
            print(
                f"{d}: {f:g} of the footage, {info['clips']} clips: {100 * acc['within_tolerance']:.1f} % within",
                flush=True,
            )
        devices[d] = row
    mean = {
        str(f): float(np.mean([r["refit"][str(f)]["within_tolerance"] for r in devices.values()])) for f in fractions
    }
    write_result(
        args.out, {"work": str(root), "adapt_fraction": base_settings.fraction, "devices": devices, "mean": mean}
    )


if __name__ == "__main__":
    main()
