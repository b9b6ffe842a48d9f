"""How IPAD-VAD's period head fit converges (issue 25, "write the criterion"; docs/quality.md §16): on the
demo's base model (after ``make demo``), the head reset and fitted by ``train/period_head_fit.fit_period_head``
itself, its divergence from the soft targets (the loss minus the targets' own entropy, the quantity
``period.fit_tol`` stops on) every ``--every`` steps at each rate of ``--rates``; and one step's time with
the features in PyTorch's default layout against channels-last (the fit's own), with the clips' classes
after ``--layout-steps`` steps.

    python benchmarks/diagnose_head_fit.py [--rates 0.001,0.003] [--steps 2000] [--every 50]

The curve is read by a forward hook on the head (every step's logits), so the fit measured is the
pipeline's own loop, run with ``fit_tol`` 0 (every step). Writes ``benchmarks/results/<out>.json``.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402

from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.io_utils import read_dataframe  # noqa: E402
from ipad_vad.jobs.data import DataSource, clip_dataset  # noqa: E402
from ipad_vad.jobs.layout import base_dir, pretrain_scenes  # noqa: E402
from ipad_vad.methods.base import load_model_file  # noqa: E402
from ipad_vad.models.period_head import period_soft_targets  # noqa: E402
from ipad_vad.train.loop import TrainSettings  # noqa: E402
from ipad_vad.train.period_head_fit import fit_period_head, head_inputs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
METHOD = "ipad_vad"


class Recorder:
    """A forward hook on the head: the loss of each forward's distribution against the soft targets and
    when it was computed; a pre-hook that hands the head its input in `layout` (the same tensor converted
    once, as a fit that kept its features that way would)."""

    def __init__(self, soft: torch.Tensor, layout: torch.memory_format):
        self.soft, self.layout = soft, layout
        self.points: list[tuple[float, float]] = []
        self.last: torch.Tensor | None = None
        self._key, self._converted = None, None

    def before(self, module, inputs):
        x = inputs[0]
        if self._key != (x.data_ptr(), x.shape):
            self._key, self._converted = (x.data_ptr(), x.shape), x.contiguous(memory_format=self.layout)
        return (self._converted,)

    def after(self, module, inputs, out):
        with torch.no_grad():
            loss = float(F.cross_entropy(out.float(), self.soft))
        self.points.append((time.perf_counter(), loss))
        self.last = out.detach().argmax(-1)


def fit_recorded(model, dataset, settings, method, soft, steps: int, lr: float, layout=torch.channels_last_3d):
    """A copy of `model` with its head reset and fitted `steps` steps at `lr`, recorded: (the recorder,
    the fit's info, each forward's (time, divergence) - the loss less the targets' entropy, which the fit
    reports as its final loss less its final divergence)."""
    net = copy.deepcopy(model)
    torch.manual_seed(settings.seed)
    for m in net.period_head.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    rec = Recorder(soft, layout)
    hooks = [net.period_head.register_forward_pre_hook(rec.before), net.period_head.register_forward_hook(rec.after)]
    per = method.settings.period
    info = fit_period_head(net, dataset, settings, method.n_classes, steps, lr, per.fit_sigma, per.fit_stride, 1.0)
    for h in hooks:
        h.remove()
    floor = info["loss"] - info["divergence"]
    return rec, info, [(t, loss - floor) for t, loss in rec.points]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", default="0.001,0.003")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--layout-steps", type=int, default=300)
    ap.add_argument("--out", default="diagnose_head_fit")
    args = ap.parse_args()
    p = load_params(ROOT / "params.yaml")
    path = base_dir(p, METHOD) / "model.pt"
    if not path.is_file():
        raise SystemExit(f"{path}: no base model of {METHOD} (run make demo first)")
    method, model = load_model_file(path)
    for w in model.period_head.parameters():
        w.requires_grad_(True)
    dataset = clip_dataset(
        p, read_dataframe(p["data"]["manifest"]), "training", pretrain_scenes(p), DataSource.PREPARED
    )
    settings = TrainSettings.from_params(p["train"])
    per = method.settings.period
    _, target = head_inputs(
        model, dataset, settings, method.n_classes, tuple(model.period_head.pool.output_size), per.fit_stride, 1.0
    )
    soft = period_soft_targets(target[target >= 0], method.n_classes, per.fit_sigma)

    curves = {}
    for lr in [float(r) for r in args.rates.split(",")]:
        _, info, points = fit_recorded(model, dataset, settings, method, soft, args.steps, lr)
        # points[i]: after i steps (the forward of step i + 1; the last, the fit's final evaluation)
        curve = {str(i): points[i][1] for i in range(args.every, len(points), args.every)}
        curves[str(lr)] = {
            "divergence": curve,
            "seconds_per_step": (points[-1][0] - points[0][0]) / args.steps,
            "clips": info["clips"],
        }
        floor = info["loss"] - info["divergence"]
        print(f"rate {lr:g}: " + ", ".join(f"{k}: {v:.3f}" for k, v in curve.items()), flush=True)

    layouts, classes = {}, {}
    for name, cl in (("default", torch.contiguous_format), ("channels_last", torch.channels_last_3d)):
        rec, _, points = fit_recorded(model, dataset, settings, method, soft, args.layout_steps, per.fit_lr, cl)
        layouts[name] = {
            "seconds_per_step": (points[-1][0] - points[0][0]) / args.layout_steps,
            "final_divergence": points[-1][1],
        }
        classes[name] = rec.last
    agree = float((classes["default"] == classes["channels_last"]).float().mean())
    speedup = layouts["default"]["seconds_per_step"] / layouts["channels_last"]["seconds_per_step"]
    print(f"layouts: {layouts}; channels-last {speedup:.2f}x, classes agree on {100 * agree:.1f} %", flush=True)
    write_result(
        args.out,
        {
            "model": str(path),
            "floor_nats": floor,
            "curves": curves,
            "layouts": {**layouts, "speedup": speedup, "classes_agree": agree, "steps": args.layout_steps},
        },
    )


if __name__ == "__main__":
    main()
