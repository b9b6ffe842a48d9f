"""How IPAD-VAD reads its period head (issue 25, docs/quality.md §18): the models of a ``bench_quality.py
--work DIR`` run rescored, nothing retrained.

    python benchmarks/bench_quality.py --seeds 0[,1,2] --methods ipad_vad --work DIR --out ...
    python benchmarks/diagnose_phase_readout.py --work DIR [--seeds 0,1,2]

The pipeline reads the head's 200 logits as one class, their argmax t_p, and the period error E_p
(eq. 8) compares the t_p of a window of clips with a line. Two other readings of the same
distribution p over the classes, label-free:

* the **circular mean** of the classes under p (the angle of sum_k p_k e^{2 pi i k / n}): a phase
  between classes, and one that a second mode pulls towards it instead of jumping to it;
* the **circular mean around the mode** within ``--radii`` r classes of the argmax (``mode_circular_mean``;
  r = n / 2 is the whole circle, the circular mean): the argmax chooses the mode, the mean places the
  phase between classes within it, so a second mode no longer pulls t_p to a point between the two;
* the **spread** 1 - R, R the length of that mean vector (circular variance): 0 when the head puts all
  its mass on one class, 1 when it spreads it round the cycle. A clip that looks like no normal phase
  should spread it.

Per scene (the base for the pretraining scenes, each device's adapted model for the devices): the
share of normal test clips within ±5 % of the cycle for each phase reading, the AUC of E_p on each,
of the spread alone, and of the method's sum (reconstruction and period error on the median/MAD scale
of the scene's normal training footage, weighed as ``evaluate.period_weight``) with the period error
from each reading, and with the spread added at ``--spread-weights`` (each a weight beside the
period error's). Writes ``benchmarks/results/<out>.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_quality import SRC  # noqa: E402
from diagnose_period_error import alone_auc, fused_auc, per_video, rescore_seeds, work_arguments  # noqa: E402

from ipad_vad.data.manifest import build_manifest  # noqa: E402
from ipad_vad.evaluate.scoring import ClipScorer  # noqa: E402
from ipad_vad.jobs.evaluate import evaluate, training_scores  # noqa: E402
from ipad_vad.jobs.layout import role  # noqa: E402
from ipad_vad.methods import load_model_file  # noqa: E402
from ipad_vad.methods.adaptation import load_adapted  # noqa: E402
from ipad_vad.methods.ipad_vad import IPADVADMethod  # noqa: E402
from ipad_vad.models.period_head import circular_mean_phase, phase_accuracy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
METHOD = "ipad_vad"


def mode_circular_mean(logits: torch.Tensor, radius: int) -> torch.Tensor:
    """(N,): the circular mean of the classes under softmax(logits) over the arc of `radius` classes on
    either side of its argmax, in class units in [0, n)."""
    p = logits.float().softmax(-1)
    n = p.shape[-1]
    d = torch.arange(-radius, radius + 1)
    mode = p.argmax(-1, keepdim=True)
    w = p.gather(-1, (mode + d) % n)
    angle = 2 * torch.pi * d.float() / n
    off = torch.atan2(w @ torch.sin(angle), w @ torch.cos(angle)) * (n / (2 * torch.pi))
    return torch.remainder(mode[:, 0].float() + off, n)


def circular_readout(logits: torch.Tensor, radii: list[int]) -> torch.Tensor:
    """(N, 2 + len(radii)): the circular mean of the classes under softmax(logits) (the pipeline's
    ``circular_mean_phase``), the spread 1 - R, R the length of the mean unit vector, and the circular
    mean around the mode at each radius."""
    p = logits.float().softmax(-1)
    n = p.shape[-1]
    angle = 2 * torch.pi * torch.arange(n, dtype=torch.float32) / n
    r = torch.hypot(p @ torch.cos(angle), p @ torch.sin(angle))
    return torch.stack([circular_mean_phase(logits), 1 - r, *(mode_circular_mean(logits, k) for k in radii)], 1)


class Probe(IPADVADMethod):
    """IPAD-VAD scored as the pipeline scores it, each batch's circular readout kept aside in order."""

    def __init__(self, params, radii: list[int]):
        super().__init__(params)
        self.kept: list[torch.Tensor] = []
        self.radii = radii

    def score_batch(self, model, x):
        """The pipeline's scoring; the head's logits read by a forward hook (one forward pass)."""
        hook = model.period_head.register_forward_hook(
            lambda module, args, logits: self.kept.append(circular_readout(logits, self.radii))
        )
        try:
            return super().score_batch(model, x)
        finally:
            hook.remove()

    def take(self) -> np.ndarray:
        out = torch.cat(self.kept).numpy().astype(np.float64)
        self.kept = []
        return out


def scene_rows(p: dict, root: Path, spread_weights: list[float], radii: list[int]) -> dict:
    p = {**p, "evaluate": {**p["evaluate"], "fusion": "scene"}}  # the normal footage is scored below, once
    m = p["methods"][METHOD]  # t_p is the argmax here whatever the settings say; the probe reads the rest
    p["methods"] = {**p["methods"], METHOD: {**m, "period": {**m.get("period", {}), "readout": "argmax"}}}
    manifest = build_manifest(Path(p["data"]["root"]), sample_decode=1)
    probe = Probe(p, radii)
    w = float(p["evaluate"]["period_weight"])
    scenes = {}
    for s in p["pipeline"]["pretrain_scenes"] + p["pipeline"]["devices"]:
        device = role(p, s) == "devices"
        model = load_adapted(root / "adapters" / s)[1] if device else load_model_file(root / "base" / "model.pt")[1]
        test, _, ctx = evaluate(p, probe, model, manifest, s, SRC, progress=False)
        local = [f"t_r{k}" for k in radii]
        test["t_soft"], test["spread"], *rest = probe.take().T
        test[local] = np.stack(rest, 1) if rest else np.zeros((len(test), 0))
        normal = training_scores(
            p, ClipScorer(probe, p["evaluate"]["batch_size"], "cpu", False), model, manifest, s, SRC, ctx
        )
        normal["t_soft"], normal["spread"], *rest = probe.take().T
        normal[local] = np.stack(rest, 1) if rest else np.zeros((len(normal), 0))
        for df in (test, normal):
            for col in ["t_soft", *local]:
                pe = "pe_soft" if col == "t_soft" else f"pe_{col[2:]}"
                df[pe] = per_video(df, ctx.period_anchor, ctx.n_classes, ctx.window, ctx.period_step, col)
        row = {"device": device, "phase_within": {}, "auc": {}}
        readouts = [("argmax", "t_p"), ("circular_mean", "t_soft"), *((f"mode_mean_r{k}", f"t_r{k}") for k in radii)]
        for name, col in readouts:  # the head's readouts
            acc = phase_accuracy(test[col].to_numpy(), test.phase.to_numpy(), test.label.to_numpy(), ctx.n_classes)
            row["phase_within"][name] = None if acc is None else acc["within_tolerance"]
        a = row["auc"]
        a["period_error_argmax"] = alone_auc(test, "period_error")
        a["period_error_circular_mean"] = alone_auc(test, "pe_soft")
        a["spread"] = alone_auc(test, "spread")
        a["sum_argmax"] = fused_auc(test, normal, {"recon_error": 1 - w, "period_error": w})
        a["sum_circular_mean"] = fused_auc(test, normal, {"recon_error": 1 - w, "pe_soft": w})
        for k in radii:
            a[f"period_error_mode_mean_r{k}"] = alone_auc(test, f"pe_r{k}")
            a[f"sum_mode_mean_r{k}"] = fused_auc(test, normal, {"recon_error": 1 - w, f"pe_r{k}": w})
        for sw in spread_weights:
            a[f"sum_argmax_spread{sw:g}"] = fused_auc(
                test, normal, {"recon_error": 1 - w, "period_error": w, "spread": sw * w}
            )
            a[f"sum_circular_mean_spread{sw:g}"] = fused_auc(
                test, normal, {"recon_error": 1 - w, "pe_soft": w, "spread": sw * w}
            )
        scenes[s] = row
        print(s, {k: round(100 * v, 1) for k, v in a.items()}, row["phase_within"], flush=True)
    return scenes


def summarise(scenes: dict, radii: list[int]) -> dict:
    keys = next(iter(scenes.values()))["auc"]
    out = {}
    for k in keys:
        out[k] = {
            "all": float(np.mean([r["auc"][k] for r in scenes.values()])),
            "devices": float(np.mean([r["auc"][k] for r in scenes.values() if r["device"]])),
        }
    for name in ("argmax", "circular_mean", *(f"mode_mean_r{k}" for k in radii)):
        vals = [r["phase_within"][name] for r in scenes.values() if r["phase_within"][name] is not None]
        out[f"phase_within_{name}"] = {"all": float(np.mean(vals)), "devices": float("nan")}
    return out


def main() -> None:
    ap = work_arguments(__doc__.split("\n\n")[0], "experiments/diagnose_phase_readout")
    ap.add_argument(
        "--spread-weights", default="0.25,0.5,1", help="the spread's weight, as a share of the period error's"
    )
    ap.add_argument(
        "--radii",
        default="",
        help="comma-separated arcs (classes either side of the argmax) of the mode's circular mean",
    )
    args = ap.parse_args()
    spread = [float(x) for x in args.spread_weights.split(",") if x]
    radii = [int(x) for x in args.radii.split(",") if x]
    rescore_seeds(args, lambda p, root: scene_rows(p, root, spread, radii), lambda sc: summarise(sc, radii))


if __name__ == "__main__":
    main()
