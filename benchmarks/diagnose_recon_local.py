"""Would IPAD-VAD's reconstruction score see more as a local error (issue 25)? The models of a
``bench_quality.py --work DIR`` run rescored, nothing retrained.

    python benchmarks/bench_quality.py --seeds 0[,1,2] --methods ipad_vad --work DIR --out ...
    python benchmarks/diagnose_recon_local.py --work DIR [--seeds 0,1,2] [--cells 8:16,16:0,4:0:4]

IPAD-VAD scores the centre frame's reconstruction by its PSNR over the whole frame (the paper's and
the official code's score, ``methods/_reconstruction.py``); an anomaly covering 1-2 % of the frame
moves that mean by as little. Here the same reconstruction is scored instead by the worst
``cell`` x ``cell`` block of its residual with the local light offset removed over ``offset_cell``
blocks (``models/local_error.py``, as the reference detector and INFP's ``pred_local`` do) -- with a
third number ``pool``, the residual first averaged over ``pool`` x ``pool`` pixels (the texture and
noise the decoder cannot reproduce averaged out; ``cell`` then counts pooled pixels) -- alone and
with the period error on the pipeline's own fusion (``evaluate.fusion``: the normal footage's scale),
through the pipeline's own ``jobs/evaluate.evaluate``. Writes ``benchmarks/results/<out>.json``.
"""

from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402
from bench_quality import SRC, seed_params  # noqa: E402

from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.data.manifest import build_manifest  # noqa: E402
from ipad_vad.jobs.evaluate import evaluate  # noqa: E402
from ipad_vad.jobs.layout import role  # noqa: E402
from ipad_vad.methods import get_method, load_model_file  # noqa: E402
from ipad_vad.methods._reconstruction import centre_residual  # noqa: E402
from ipad_vad.methods.adaptation import load_adapted  # noqa: E402
from ipad_vad.methods.base import ClipScores  # noqa: E402
from ipad_vad.models.local_error import local_error  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
METHOD = "ipad_vad"


def local_scoring(cell: int, offset_cell: int, pool: int = 1):
    """IPAD-VAD's ``score_batch`` with the centre frame's residual (averaged over `pool` pixels)
    scored by its worst cell."""

    def score_batch(self, model, x: torch.Tensor) -> ClipScores:
        half = x.shape[2] // 2
        out = model(x, frames=(half, half + 1))
        residual = centre_residual(out, x, centre_only=True)
        if pool > 1:
            residual = torch.nn.functional.avg_pool2d(residual, pool)
        return ClipScores(
            self.clip_components,
            local_error(residual, cell, offset_cell)[:, None],
            phase=out["period_logits"].float().argmax(-1),
        )

    return score_batch


def scene_rows(p: dict, root: Path, variants: list[tuple[int, ...]]) -> dict:
    manifest = build_manifest(Path(p["data"]["root"]), sample_decode=1)
    scenes = {}
    for s in p["pipeline"]["pretrain_scenes"] + p["pipeline"]["devices"]:
        device = role(p, s) == "devices"
        model = load_adapted(root / "adapters" / s)[1] if device else load_model_file(root / "base" / "model.pt")[1]
        row = {"device": device}
        for name, cells in [("global", None)] + [("local_" + "_".join(map(str, v)), v) for v in variants]:
            method = get_method(METHOD, p)
            if cells is not None:
                method.score_batch = types.MethodType(local_scoring(*cells), method)
            _, metrics, _ = evaluate(p, method, model, manifest, s, SRC, progress=False)
            auc = metrics["auc"]["scene_norm"]
            row[name] = {
                "score": auc["score"],
                "recon_alone": auc["recon_error"],
                "per_type": metrics.get("auc_per_type", {}),
            }
        scenes[s] = row
        print(s, {k: round(100 * v["score"], 1) for k, v in row.items() if k != "device"}, flush=True)
    return scenes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", required=True, help="the --work folder of a bench_quality.py run with ipad_vad")
    ap.add_argument("--seeds", default="0", help="comma-separated seeds of that run")
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--cells", default="8:16,16:0", help="comma-separated cell:offset_cell[:pool] of the local error")
    ap.add_argument("--out", default="experiments/diagnose_recon_local")
    args = ap.parse_args()
    params = load_params(ROOT / "params.yaml", args.profile)
    variants = [tuple(int(v) for v in x.split(":")) for x in args.cells.split(",")]
    per_seed = {}
    for seed in (int(x) for x in args.seeds.split(",")):
        root = Path(args.work) / f"seed{seed}" / METHOD
        if not (root / "adapters").is_dir():
            raise SystemExit(f"{root / 'adapters'}: no adapted {METHOD} models (run bench_quality.py --work first)")
        per_seed[str(seed)] = scene_rows(seed_params(params, seed, Path(args.work)), root, variants)
    names = [k for k in next(iter(next(iter(per_seed.values())).values())) if k != "device"]
    summary = {}
    for name in names:
        for part in ("score", "recon_alone"):
            vals = [[r[name][part] for r in scenes.values()] for scenes in per_seed.values()]
            devs = [[r[name][part] for r in scenes.values() if r["device"]] for scenes in per_seed.values()]
            summary[f"{name}_{part}"] = {
                "all": float(np.mean(vals)),
                "per_seed": [float(np.mean(v)) for v in vals],
                "devices": float(np.mean(devs)),
            }
            v = summary[f"{name}_{part}"]
            print(
                f"{name} {part}: {100 * v['all']:.1f} (seeds {' / '.join(f'{100 * x:.1f}' for x in v['per_seed'])}; "
                f"devices {100 * v['devices']:.1f})"
            )
    write_result(args.out, {"work": str(args.work), "summary": summary, "per_seed": per_seed})


if __name__ == "__main__":
    main()
