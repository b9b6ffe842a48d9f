"""A real MLflow registry (SQLite in a temporary folder) holding a reference-detector (knn) champion per
device, fitted on generated footage: what `ipad serve`'s tests and benchmark score with
(benchmarks/bench_serve.py imports ``register_champion`` with the demo profile's params and footage)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from ipad_vad.alerts.calibration import Calibration
from ipad_vad.config import load_params

T, SIZE = 8, (32, 32)
PARAMS = load_params(Path(__file__).resolve().parents[1] / "params.yaml", "smoke")  # any cwd
PARAMS = {
    **PARAMS,
    "clip": {**PARAMS["clip"], "length": T, "size": list(SIZE)},
    "methods": {
        **(PARAMS.get("methods") or {}),
        "knn": {
            **(PARAMS.get("methods") or {}).get("knn", {}),
            "frames": 4,
            "size": [16, 16],
            "cell": 4,
            "offset_cell": 0,
            "retrieve_pool": 1,
            "shift": 0,
            "k": 1,
        },
    },
}


def frames(n: int, seed: int, anomaly: tuple[int, int] | None = None, size=SIZE) -> np.ndarray:
    """A square moving over a textured background with a 12-frame cycle; frames of `anomaly`
    [start, end) show a large red block instead (a part where none belongs)."""
    rng = np.random.default_rng(seed)
    bg = rng.integers(40, 90, (*size, 3), dtype=np.uint8)
    out = np.repeat(bg[None], n, 0)
    for i in range(n):
        x = 2 + (i % 12) * 2
        out[i, 10:18, x : x + 6] = (30, 200, 30)
        if anomaly and anomaly[0] <= i < anomaly[1]:
            out[i, 2:30, 2:30] = (230, 20, 20)
    return out


def write_folder(folder: Path, video: np.ndarray, start: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(video, start):
        cv2.imwrite(str(folder / f"{i:05d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    return folder


def _clips(video: np.ndarray, clip_len: int = T) -> torch.Tensor:
    x = torch.from_numpy(video).float().div(127.5).sub(1.0)  # (n, H, W, 3)
    return x.unfold(0, clip_len, 1).permute(0, 3, 4, 1, 2).contiguous()  # (n - T + 1, 3, T, H, W)


def register_champion(
    root: Path,
    device: str,
    seed: int,
    threshold_margin: float = 1.0,
    version_note: str = "",
    params: dict | None = None,
    normal: np.ndarray | None = None,
) -> str:
    """Fit a knn bank on the device's normal footage, calibrate on more of it, register it in the
    active MLflow registry and make it the champion; returns the version. Defaults: the tests' small
    clips (PARAMS) and ``frames(48, seed)``; `params` / `normal` (RGB uint8 (n, H, W, 3) at the
    params' clip size): the bank from the first 3/4 of `normal`, the calibration from the rest
    followed by the start."""
    import mlflow

    from ipad_vad.io_utils import write_json
    from ipad_vad.methods import get_method
    from ipad_vad.registry import device_model_name, tracking
    from ipad_vad.registry.pyfunc_model import log_scorer

    params = params or PARAMS
    t, size = int(params["clip"]["length"]), tuple(params["clip"]["size"])
    method = get_method("knn", params)
    model = method.build()
    normal = frames(48, seed) if normal is None else normal
    bank_end = len(normal) * 3 // 4
    with torch.no_grad():
        descriptors = [model.descriptor(c) for c in _clips(normal[:bank_end], t).split(256)]
        model.set_bank(torch.cat(descriptors))
        held = torch.cat(
            [
                model(c)["distance"]
                for c in _clips(np.concatenate([normal[bank_end - t + 2 :], normal[: 20 + t - T]]), t).split(256)
            ]
        ).numpy()
    mu, sd = float(held.mean()), float(held.std() or 1.0)
    z = (held - mu) / sd
    cal = Calibration(
        method="knn",
        threshold=float(z.max() + threshold_margin),
        false_alarm_rate=0.01,
        components=("distance",),
        means=(mu,),
        stds=(sd,),
        weights=(1.0,),
        clip_len=t,
        frame_size=size,
        source_size=size,
        min_frames=2,
        merge_gap=3,
        n_frames=len(held),
    )
    folder = Path(root) / f"model-{device}-{seed}{version_note}"
    folder.mkdir(parents=True, exist_ok=True)
    method.save(model, folder / "model.pt")
    write_json(folder / "calibration.json", cal.to_dict())
    name = device_model_name(device)
    tracking.configure()
    with tracking.run(f"serve test {device}", "adapt", device, params={"seed": seed}):
        v = log_scorer(
            name,
            _clips(normal[: t + 1], t).numpy(),
            folder / "model.pt",
            None,
            tags={"scene": device, "auc": 0.9},
            calibration=folder / "calibration.json",
        )
    mlflow.MlflowClient().set_registered_model_alias(name, "champion", v.version)
    return str(v.version)


def register_lora_champions(root: Path, devices: dict[str, int], steps: int = 20, adapt_steps: int = 10) -> dict:
    """One feature-bank base fitted on generated footage, adapted with LoRA to each device (its seed's
    ``frames``: the encoder's adapters and the device's own bank), calibrated on more of the device's
    footage and registered as the device's champion, each version carrying the base file as
    ``promote`` registers it. Returns {device: version}."""
    from ipad_vad.data.clip_dataset import ClipDataset, VideoRecord
    from ipad_vad.io_utils import write_json
    from ipad_vad.jobs.settings import AdaptSettings
    from ipad_vad.methods import FitHooks, get_method
    from ipad_vad.methods.adaptation import adapt, load_adapted
    from ipad_vad.registry import tracking
    from ipad_vad.train.loop import TrainSettings

    try:
        from .helpers import ArraySource
    except ImportError:  # benchmarks import this file with tests/ on the path
        from helpers import ArraySource

    params = {
        **PARAMS,
        "methods": {
            **PARAMS["methods"],
            "feature_bank": {
                **PARAMS["methods"].get("feature_bank", {}),
                "steps": steps,
                "adapt_steps": adapt_steps,
                "frames": 3,
                "batch_frames": 8,
                "cells": 64,
                "adaptation": "lora",
            },
        },
    }
    method = get_method("feature_bank", params)
    quiet = FitHooks(progress=False)

    def dataset(videos):
        return ClipDataset([VideoRecord(ArraySource(v)) for v in videos], clip_len=T, stride=1)

    root = Path(root)
    torch.manual_seed(0)
    base = method.fit(dataset([frames(60, 100)]), root / "fb-base", TrainSettings(), quiet).model
    method.save(base, root / "fb-base" / "model.pt")
    fin = AdaptSettings.from_params(params)
    tracking.configure()
    versions = {}
    for device, seed in devices.items():
        adapted = root / f"fb-{device}"
        adapt(
            method,
            root / "fb-base" / "model.pt",
            dataset([frames(40, seed), frames(30, seed + 50)]),
            adapted,
            fin.train_settings(params),
            quiet,
            fin.lora_settings(),
        )
        _, model = load_adapted(adapted)
        with torch.no_grad():
            held = model(_clips(frames(48, seed + 7)))["distance"].numpy()
        mu, sd = float(held.mean()), float(held.std() or 1.0)
        cal = Calibration(
            method="feature_bank",
            threshold=float((held.max() - mu) / sd + 1.0),
            false_alarm_rate=0.01,
            components=("distance",),
            means=(mu,),
            stds=(sd,),
            weights=(1.0,),
            clip_len=T,
            frame_size=SIZE,
            source_size=SIZE,
            min_frames=2,
            merge_gap=3,
            n_frames=len(held),
        )
        write_json(adapted.parent / f"fb-{device}-calibration.json", cal.to_dict())
        versions[device] = register_lora_again(root, device)
    return versions


def register_lora_again(root: Path, device: str) -> str:
    """The files ``register_lora_champions`` made for `device` registered as a new version and made the
    champion (a new version of the same adapter: scores unchanged); returns the version."""
    import mlflow

    from ipad_vad.registry import device_model_name, tracking
    from ipad_vad.registry.pyfunc_model import log_scorer

    root, name = Path(root), device_model_name(device)
    with tracking.run(f"serve test {device} (LoRA)", "adapt", device):
        v = log_scorer(
            name,
            _clips(frames(T + 1, 0)).numpy(),
            root / "fb-base" / "model.pt",
            root / f"fb-{device}",
            tags={"scene": device, "auc": 0.9},
            calibration=root / f"fb-{device}-calibration.json",
        )
    mlflow.MlflowClient().set_registered_model_alias(name, "champion", v.version)
    return str(v.version)
