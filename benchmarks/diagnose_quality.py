"""Why the reconstruction models sit near chance (issue 12): pictures and numbers from the demo's
trained models (run `make demo` first; reads models/, data/ and eval/ of the demo profile).

    python benchmarks/diagnose_quality.py [--scenes S01,...] [--pictures S01,R02] [--method ipad_vad]
        [--nuisance-scenes S01,R02] [--no-nuisance]

Writes docs/quality/:
* ``error_maps_<scene>.png``: for normal and anomalous test frames (one per anomaly type present):
  the frame, the model's reconstruction of it, the per-pixel squared error (as INFP's Fig. 5), and
  the reference detector's local residual to its nearest normal clip (cells, local light offset
  removed; its bank: the scene's training footage, this checkout's settings), one colour scale a row;
* ``loss_curves.png``: the training losses per epoch of every learned method's base and adapters;
* and ``benchmarks/results/diagnose_quality.json``:
  - ``nuisance``: the scene regenerated with each nuisance switched off in turn (light drift, flicker,
    light spot, jitter, compression), scored by the same models: mean reconstruction MSE of the
    normal test frames and the AUC, so that the share of the error each nuisance causes is measured;
  - ``period_head``: the period head's phase accuracy on normal test footage (t_p against the
    annotated phase: exact class, within ±5 % of a cycle, and the mean circular error);
  - ``error_ratio``: mean frame-mean MSE of anomalous over normal frames, and the same for the local
    (worst-cell) error, per scene, with the AUC of each and of the local error normalised pixel by
    pixel by the mean error of the scene's normal training clips (scores that discount what is
    normally hard to reconstruct at that place).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from _common import write_result  # noqa: E402

from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.data.manifest import build_manifest  # noqa: E402
from ipad_vad.data.synth.anomalies import CODE_TO_NAME  # noqa: E402
from ipad_vad.data.synth.generator import SynthConfig, generate  # noqa: E402
from ipad_vad.io_utils import read_dataframe  # noqa: E402
from ipad_vad.jobs.data import DataSource, clip_dataset  # noqa: E402
from ipad_vad.jobs.evaluate import load_for_scene  # noqa: E402
from ipad_vad.jobs.pretrain import fit_method  # noqa: E402
from ipad_vad.methods import FitHooks, load_model_file  # noqa: E402
from ipad_vad.models.local_error import cell_errors, local_error  # noqa: E402
from ipad_vad.models.period_head import phase_accuracy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "quality"
NUISANCES = {
    "light_drift": ("nuisance", "light_drift"),
    "flicker": ("nuisance", "flicker"),
    "light_spot": ("nuisance", "spot"),
    "jitter": ("nuisance", "jitter"),
}


@torch.no_grad()
def reconstruct(model, ds, idx: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(centre frames, their reconstructions) of clips `idx`: (n, 3, H, W) in [-1, 1]."""
    x = torch.stack([ds[i]["clip"] for i in idx])
    out = model(x)
    h = x.shape[2] // 2
    return x[:, :, h], out["recon"].float()[:, :, h]


@torch.no_grad()
def scene_errors(model, ds, cell: int, offset_cell: int) -> dict:
    """Per clip: frame-mean squared error, local error, label, type; and t_p / phase where present."""
    rows = {k: [] for k in ("mse", "local", "label", "type", "t_p", "phase", "maps")}
    for b in DataLoader(ds, batch_size=32):
        x = b["clip"]
        out = model(x)
        h = x.shape[2] // 2
        r = out["recon"].float()[:, :, h] - x[:, :, h]
        rows["maps"].append(r.pow(2).sum(1))
        rows["mse"] += r.pow(2).flatten(1).mean(1).tolist()
        rows["local"] += local_error(r, cell, offset_cell).tolist()
        rows["label"] += b["label"].tolist()
        rows["type"] += b["type"].tolist()
        rows["phase"] += b["phase"].tolist()
        if "period_logits" in out:
            rows["t_p"] += out["period_logits"].argmax(-1).tolist()
    maps = torch.cat(rows.pop("maps"))
    return {**{k: np.asarray(v) for k, v in rows.items()}, "maps": maps}


def normalised_local(test_maps: torch.Tensor, train_maps: torch.Tensor, cell: int) -> np.ndarray:
    """Worst cell of the squared error divided, pixel by pixel, by its mean over normal training
    clips (what is normally hard to reconstruct at that place is discounted)."""
    mu = train_maps.mean(0)
    ratio = test_maps / (mu + 0.1 * mu.mean())
    return torch.nn.functional.avg_pool2d(ratio[:, None], cell).flatten(1).amax(1).numpy()


def error_maps(params, method: str, scene: str, manifest, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, model = load_for_scene(params, method, scene)
    model.eval()
    with tempfile.TemporaryDirectory() as tmp:  # the reference with this checkout's settings, on the scene's footage
        fit_method(params, "knn", manifest, [scene], tmp, DataSource.PREPARED, FitHooks(progress=False))
        _, knn = load_model_file(Path(tmp) / "model.pt")
    ds = clip_dataset(params, manifest, "testing", [scene], DataSource.PREPARED, stride=1)
    labels = np.array([ds[i]["label"] for i in range(len(ds))])
    types = np.array([ds[i]["type"] for i in range(len(ds))])
    pick = [("normal", int(np.flatnonzero(labels == 0)[len(np.flatnonzero(labels == 0)) // 2]))]
    for code in sorted(set(types[labels == 1].tolist())):
        c = np.flatnonzero((labels == 1) & (types == code))
        pick.append((CODE_TO_NAME.get(code, str(code)), int(c[len(c) // 2])))
    frames, recon = reconstruct(model, ds, [i for _, i in pick])
    err = (recon - frames).pow(2).sum(1)
    x = torch.stack([ds[i]["clip"] for _, i in pick])
    d = knn.descriptor(x)
    _, nn_idx = knn.nearest(d)
    shape = (knn.descriptor.frames, 3, *knn.descriptor.size)
    res = (
        d.unflatten(-1, shape)[:, knn.descriptor.frames // 2]
        - knn.banks()[0][nn_idx[:, 0]].unflatten(-1, shape)[:, knn.descriptor.frames // 2]
    )
    cells = cell_errors(res, knn.cell, knn.offset_cell)
    n = len(pick)
    fig, ax = plt.subplots(4, n, figsize=(1.9 * n, 7.6))
    vmax, cmax = float(err.max()), float(cells.max())
    for j, (name, _) in enumerate(pick):
        show = lambda t: ((t.permute(1, 2, 0).clamp(-1, 1) + 1) / 2).numpy()  # noqa: E731
        ax[0, j].imshow(show(frames[j]))
        ax[0, j].set_title(f"{name}\nMSE {err[j].mean() / 3:.4f}", fontsize=8)
        ax[1, j].imshow(show(recon[j]))
        ax[2, j].imshow(err[j].numpy(), cmap="inferno", vmin=0, vmax=vmax)
        ax[3, j].imshow(cells[j].numpy(), cmap="inferno", vmin=0, vmax=cmax)
        ax[3, j].set_title(f"worst cell {cells[j].max():.2f}", fontsize=8)
    for i, lab in enumerate(("frame", f"{method} recon", "squared error", "kNN local residual")):
        ax[i, 0].set_ylabel(lab, fontsize=8)
    for a in ax.flat:
        a.set_xticks([])
        a.set_yticks([])
    fig.suptitle(f"{scene}: test frames, reconstruction error and the reference's local residual", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def loss_curves(params, methods: list[str], out: Path) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = Path(params["pipeline"]["models_root"])
    curves = {}
    for m in methods:
        for f in [models / "base" / m / "method.json", *sorted((models / "adapters").glob(f"*/{m}/method.json"))]:
            if f.is_file():
                hist = json.loads(f.read_text()).get("history") or []
                if hist and "loss" in hist[0]:
                    curves[f"{m} {f.parent.parent.name if 'adapters' in f.parts else 'base'}"] = [
                        h["loss"] for h in hist
                    ]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for k, v in curves.items():
        ax.plot(range(1, len(v) + 1), v, marker="o", label=k, lw=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return curves


def period_accuracy(e: dict, n_classes: int) -> dict | None:
    if not len(e["t_p"]):
        return None
    return phase_accuracy(e["t_p"], e["phase"], e["label"], n_classes)


def nuisance_attribution(params, method: str, scenes: list[str], cell: int, offset_cell: int) -> dict:
    """Each scene regenerated with one nuisance off at a time, scored by the trained models."""
    results = {}
    variants = {"all on": None, **{f"no {k}": v for k, v in NUISANCES.items()}, "no compression": "jpeg"}
    for name, key in variants.items():
        syn = copy.deepcopy(params["synth"])
        if key == "jpeg":
            syn["jpeg_quality"] = syn["real_jpeg_quality"] = 100
        elif key is not None:
            syn[key[0]][key[1]] = 0.0
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp), SynthConfig.from_params(syn, scenes=scenes), force=True)
            man = build_manifest(Path(tmp), sample_decode=1)
            results[name] = {}
            for s in scenes:
                _, model = load_for_scene(params, method, s)
                ds = clip_dataset(params, man, "testing", [s], DataSource.FRAMES, stride=1)
                e = scene_errors(model.eval(), ds, cell, offset_cell)
                results[name][s] = {
                    "normal_mse": float(e["mse"][e["label"] == 0].mean()),
                    "anomalous_mse": float(e["mse"][e["label"] == 1].mean()),
                    "auc_mse": float(roc_auc_score(e["label"], e["mse"])),
                    "auc_local": float(roc_auc_score(e["label"], e["local"])),
                }
        print(
            f"  {name}: "
            + ", ".join(
                f"{s} normal MSE {v['normal_mse']:.4f} AUC {100 * v['auc_mse']:.1f}" for s, v in results[name].items()
            ),
            flush=True,
        )
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenes", default="S01,S02,S08,R01,R02,R03,R04")
    ap.add_argument("--method", default="ipad_vad")
    ap.add_argument("--pictures", default="S01,R02", help="scenes whose error maps are drawn")
    ap.add_argument("--nuisance-scenes", default="S01,R02", help="scenes regenerated without each nuisance")
    ap.add_argument("--cell", type=int, default=8, help="local error cell (pixels of the model's frame size)")
    ap.add_argument("--offset-cell", type=int, default=16)
    ap.add_argument("--norm-cell", type=int, default=4, help="cell of the per-pixel normalised local error")
    ap.add_argument("--no-nuisance", action="store_true", help="skip the regeneration with nuisances switched off")
    args = ap.parse_args()
    params = load_params(ROOT / "params.yaml", "demo")
    scenes = args.scenes.split(",")
    manifest = read_dataframe(params["data"]["manifest"])
    DOCS.mkdir(parents=True, exist_ok=True)
    result = {"method": args.method, "scenes": scenes, "error_ratio": {}, "period_head": {}}
    for s in scenes:
        if s in args.pictures.split(","):
            error_maps(params, args.method, s, manifest, DOCS / f"error_maps_{s}.png")
        _, model = load_for_scene(params, args.method, s)
        e = scene_errors(
            model.eval(),
            clip_dataset(params, manifest, "testing", [s], DataSource.PREPARED, stride=1),
            args.cell,
            args.offset_cell,
        )
        train = scene_errors(
            model, clip_dataset(params, manifest, "training", [s], DataSource.PREPARED), args.cell, args.offset_cell
        )
        n, a = e["label"] == 0, e["label"] == 1
        result["error_ratio"][s] = {
            "mse_anomalous_over_normal": float(e["mse"][a].mean() / e["mse"][n].mean()),
            "local_anomalous_over_normal": float(e["local"][a].mean() / e["local"][n].mean()),
            "auc_mse": float(roc_auc_score(e["label"], e["mse"])),
            "auc_local": float(roc_auc_score(e["label"], e["local"])),
            "auc_local_normalised": float(
                roc_auc_score(e["label"], normalised_local(e["maps"], train["maps"], args.norm_cell))
            ),
        }
        n_classes = int(params["methods"].get(args.method, {}).get("period", {}).get("n_classes", 200))
        result["period_head"][s] = period_accuracy(e, n_classes)
        print(s, result["error_ratio"][s], result["period_head"][s], flush=True)
    result["loss_curves"] = loss_curves(params, [args.method, "conv_ae", "v_swin_ae"], DOCS / "loss_curves.png")
    if not args.no_nuisance:
        result["nuisance"] = nuisance_attribution(
            params, args.method, args.nuisance_scenes.split(","), args.cell, args.offset_cell
        )
    write_result("diagnose_quality", result)


if __name__ == "__main__":
    main()
