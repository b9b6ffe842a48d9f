"""Would two detectors together beat the better one? A diagnosis for issue 25, not a method.

    python benchmarks/diagnose_fusion.py [--seeds 0,1,2] [--methods knn,feature_bank] [--work DIR]
        [--out experiments/diagnose_fusion_knn_feature_bank]

For each generator seed, each method runs the pipeline's jobs by ``bench_quality.run_method`` (the
base on the pretraining scenes, adapted to every device, every scene scored); every clip's score
is kept (``<work>/seed<k>/fusion/<method>/<scene>.parquet``; a rerun with the same ``--work`` reuses
them). Then per scene each method's scores are put on one scale - a robust z-score, (score - median) /
(1.4826 MAD) over the scene's test clips, label-free like the scene-norm protocol's own min-max over
the scene - and fused by their mean and by their maximum; and by the mean of their min-max over the
scene (``minmax_mean``: how ``evaluate`` scores a method of two components of weight 1/2). The
scene-norm AUC of each method alone and of each fusion, per seed and scene, goes to
``benchmarks/results/<out>.json``.

What it does not settle: a shipped fusion would take its scales from normal footage only (the
calibration's leave-one-recording-out scores), not from the scored footage.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402
from bench_quality import ROOT, prepare_seed, run_method  # noqa: E402

from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.evaluate.protocols import normalise, scene_auc  # noqa: E402

KEY = ["video_index", "center"]
FUSIONS = ("mean", "max", "minmax_mean")
MAD_TO_STD = 1.4826  # a normal distribution's standard deviation per median absolute deviation


def scores_of(p: dict, name: str, manifest, work: Path) -> dict[str, pd.DataFrame]:
    """Every scene's scored clips by method `name` (``bench_quality.run_method``: the pipeline's jobs),
    cached under `work`."""
    out = work / "fusion" / name
    scenes = [*p["pipeline"]["pretrain_scenes"], *p["pipeline"]["devices"]]
    if not all((out / f"{s}.parquet").is_file() for s in scenes):
        out.mkdir(parents=True, exist_ok=True)
        scored: dict[str, pd.DataFrame] = {}
        run_method(p, name, manifest, work, keep=scored)
        for s, df in scored.items():
            df[[*KEY, "label", "score"]].to_parquet(out / f"{s}.parquet")
        print(f"  {name}: {len(scored)} scenes scored", flush=True)
    return {s: pd.read_parquet(out / f"{s}.parquet") for s in scenes}


def robust_z(x: np.ndarray) -> np.ndarray:
    med = np.median(x)
    mad = np.median(np.abs(x - med)) * MAD_TO_STD
    return (x - med) / max(mad, 1e-12)


def auc(df: pd.DataFrame, column: str) -> float:
    groups = [g for _, g in df.groupby("video_index", sort=True)]
    return scene_auc([g.label.to_numpy() for g in groups], [g[column].to_numpy() for g in groups], "scene")


def fuse(per_method: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Scene-norm AUC of each method alone and of each fusion (``FUSIONS``) of one scene's clips."""
    names = list(per_method)
    df = None
    for n in names:
        d = per_method[n][[*KEY, "label", "score"]].rename(columns={"score": n})
        df = d if df is None else df.merge(d.drop(columns="label"), on=KEY, how="inner")
    z = np.stack([robust_z(df[n].to_numpy(float)) for n in names])
    df["mean"], df["max"] = z.mean(0), z.max(0)
    # the benchmark's own fusion of a method's components: the mean of each min-max normalised over the scene
    df["minmax_mean"] = np.mean([np.concatenate(normalise([df[n].to_numpy(float)], "scene")) for n in names], axis=0)
    return {c: auc(df, c) for c in [*names, *FUSIONS]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--methods", default="knn,feature_bank")
    ap.add_argument("--profile", default="demo")
    ap.add_argument("--work", default=None, help="work folder kept for reruns (default: a temporary one)")
    ap.add_argument("--out", default="experiments/diagnose_fusion_knn_feature_bank")
    args = ap.parse_args()
    p0 = load_params(ROOT / "params.yaml", args.profile)
    names = args.methods.split(",")
    work = Path(args.work or tempfile.mkdtemp(prefix="diagnose_fusion_"))
    per_seed = {}
    for seed in [int(s) for s in args.seeds.split(",")]:
        p, manifest, _ = prepare_seed(p0, seed, work)
        scores = {n: scores_of(p, n, manifest, work / f"seed{seed}") for n in names}
        per_seed[str(seed)] = {s: fuse({n: scores[n][s] for n in names}) for s in scores[names[0]]}
        means = {c: np.mean([v[c] for v in per_seed[str(seed)].values()]) for c in [*names, *FUSIONS]}
        print(f"seed {seed}: " + ", ".join(f"{c} {100 * v:.1f}" for c, v in means.items()), flush=True)
    rows = [*names, *FUSIONS]
    devices = p0["pipeline"]["devices"]
    summary = {
        c: {
            "auc_scene_norm_mean": float(np.mean([v[c] for sd in per_seed.values() for v in sd.values()])),
            "auc_devices_mean": float(np.mean([sd[d][c] for sd in per_seed.values() for d in devices])),
            "auc_per_seed": {s: float(np.mean([v[c] for v in sd.values()])) for s, sd in per_seed.items()},
        }
        for c in rows
    }
    write_result(args.out, {"methods": names, "fusions": list(FUSIONS), "summary": summary, "per_seed": per_seed})
    for c in rows:
        m = summary[c]
        print(f"{c:>14}: all {100 * m['auc_scene_norm_mean']:.1f}, devices {100 * m['auc_devices_mean']:.1f}")


if __name__ == "__main__":
    main()
