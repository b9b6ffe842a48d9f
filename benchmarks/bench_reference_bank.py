"""The reference detector's bank: how dense it needs to be, and how its calibration holds on a new
recording. JSON in benchmarks/results/bench_reference_bank.json.

    python benchmarks/bench_reference_bank.py [--scenes S01,S05,S10,R01,R02,R03]

1. Bank stride: scene-norm AUC of the kNN reference with a bank of the clips starting every 4 frames
   (the training stride) vs every frame, from the same footage (all training footage of a pretrain
   scene; the first 1/5 and all of a device's), on the prepared demo data of `make demo`
   (data/prepared, data/manifest.parquet must exist).
2. Calibration across recordings: a smoke-size R01 with two training recordings is generated; the bank
   is the first 1/5 of recording 01, the threshold the 0.995 quantile of the rest of 01 (what the
   pipeline does), and recording 02 (same scene, new cycles, lighting and jitter) is scored: the share
   of its normal frames above the threshold, for banks of stride 1 and 2.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import write_result  # noqa: E402

from ipad_vad.config import load_params  # noqa: E402
from ipad_vad.data.clip_dataset import ClipDataset  # noqa: E402
from ipad_vad.data.sampling import FractionSampler  # noqa: E402
from ipad_vad.evaluate.scoring import score_clips  # noqa: E402
from ipad_vad.io_utils import read_dataframe  # noqa: E402
from ipad_vad.jobs.data import DataSource, clip_dataset  # noqa: E402
from ipad_vad.jobs.evaluate import evaluate  # noqa: E402
from ipad_vad.methods import get_method  # noqa: E402


def bank_of(knn, ds, indices):
    model = knn.build()
    model.set_bank(
        torch.cat(
            [
                model.descriptor(torch.stack([ds[i]["clip"] for i in indices[s : s + 64]]))
                for s in range(0, len(indices), 64)
            ]
        )
    )
    return model


def bank_stride(scenes: list[str]) -> dict:
    p = load_params(ROOT / "params.yaml", "demo")
    man = read_dataframe(p["data"]["manifest"])
    knn, out = get_method("knn", p), {}
    for scene in scenes:
        for frac in [1.0] if scene in p["pipeline"]["pretrain_scenes"] else [0.2, 1.0]:
            for stride in (4, 1):
                ds = clip_dataset(p, man, "training", [scene], DataSource.PREPARED, stride=stride)
                idx = FractionSampler(ds, frac, "contiguous", shuffle=False).indices
                _, m, _ = evaluate(p, knn, bank_of(knn, ds, idx), man, scene, DataSource.PREPARED, progress=False)
                key = f"{scene} share {frac:g} stride {stride}"
                out[key] = {"bank": len(idx), "auc_scene_norm": m["auc"]["scene_norm"]["score"]}
                print(key, out[key], flush=True)
    return out


def across_recordings() -> dict:
    from ipad_vad.data.manifest import build_manifest
    from ipad_vad.data.synth.generator import SynthConfig, generate

    p = load_params(ROOT / "params.yaml", "smoke")
    p = copy.deepcopy(p)
    p["synth"].update(train_videos=2, train_cycles=12)
    work = Path(tempfile.mkdtemp())
    generate(work / "ipad", SynthConfig.from_params(p["synth"], scenes=["R01"], workers=1))
    man = build_manifest(work / "ipad")
    train = man[man.split == "training"]
    first = clip_dataset(p, train[train.video == "01"], "training", ["R01"], DataSource.FRAMES, stride=1)
    second = clip_dataset(p, train[train.video == "02"], "training", ["R01"], DataSource.FRAMES, stride=1)
    knn, T, out = get_method("knn", p), first.clip_len, {}
    k = int(np.ceil(0.2 * len(first)))
    v = first.videos[0]
    rest = ClipDataset([dataclasses.replace(v, span=(k - 1 + T, len(v.source)))], clip_len=T, stride=1)
    for stride in (1, 2):
        model = bank_of(knn, first, list(range(0, k, stride)))
        held = score_clips(knn, model, rest).distance.to_numpy()
        new = score_clips(knn, model, second).distance.to_numpy()
        thr = float(np.quantile(held, 0.995, method="higher"))
        out[f"stride {stride}"] = {
            "bank": len(model.bank),
            "threshold": thr,
            "held_out_mean": float(held.mean()),
            "new_recording_mean": float(new.mean()),
            "new_recording_share_above_threshold": float(np.mean(new > thr)),
        }
        print(stride, out[f"stride {stride}"], flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenes", default="S01,S05,S10,R01,R02,R03")
    args = ap.parse_args()
    write_result(
        "bench_reference_bank",
        {"bank_stride": bank_stride(args.scenes.split(",")), "calibration_across_recordings": across_recordings()},
    )


if __name__ == "__main__":
    main()
