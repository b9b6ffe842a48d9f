"""A real MLflow registry (SQLite in a temporary folder) holding a reference-detector (knn) champion per
device, fitted on generated footage: what `ipad serve`'s tests and benchmark score with
(benchmarks/bench_serve.py imports ``register_champion`` with the demo profile's params and footage)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch

from ipad_vad.alerts.calibration import Calibration
from ipad_vad.config import load_params

T, SIZE = 8, (32, 32)
PARAMS = load_params(Path(__file__).resolve().parents[1] / "params.yaml", "smoke")  # any cwd
PARAMS = {**PARAMS, "clip": {**PARAMS["clip"], "length": T, "size": list(SIZE)},
          "methods": {**(PARAMS.get("methods") or {}),
                      "knn": {**(PARAMS.get("methods") or {}).get("knn", {}), "frames": 4, "size": [16, 16], "cell": 4,
                              "offset_cell": 0, "retrieve_pool": 1, "shift": 0, "k": 1}}}


def frames(n: int, seed: int, anomaly: tuple[int, int] | None = None, size=SIZE) -> np.ndarray:
    """A square moving over a textured background with a 12-frame cycle; frames of `anomaly`
    [start, end) show a large red block instead (a part where none belongs)."""
    rng = np.random.default_rng(seed)
    bg = rng.integers(40, 90, (*size, 3), dtype=np.uint8)
    out = np.repeat(bg[None], n, 0)
    for i in range(n):
        x = 2 + (i % 12) * 2
        out[i, 10:18, x:x + 6] = (30, 200, 30)
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


def register_champion(root: Path, device: str, seed: int, threshold_margin: float = 1.0, version_note: str = "",
                      params: dict | None = None, normal: np.ndarray | None = None) -> str:
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
        held = torch.cat([model(c)["distance"] for c in
                          _clips(np.concatenate([normal[bank_end - t + 2:], normal[:20 + t - T]]), t).split(256)]).numpy()
    mu, sd = float(held.mean()), float(held.std() or 1.0)
    z = (held - mu) / sd
    cal = Calibration(method="knn", threshold=float(z.max() + threshold_margin), false_alarm_rate=0.01,
                      components=("distance",), means=(mu,), stds=(sd,), weights=(1.0,), clip_len=t,
                      frame_size=size, source_size=size, min_frames=2, merge_gap=3, n_frames=len(held))
    folder = Path(root) / f"model-{device}-{seed}{version_note}"
    folder.mkdir(parents=True, exist_ok=True)
    method.save(model, folder / "model.pt")
    write_json(folder / "calibration.json", cal.to_dict())
    name = device_model_name(device)
    tracking.configure()
    with tracking.run(f"serve test {device}", "finetune", device, params={"seed": seed}):
        v = log_scorer(name, _clips(normal[:t + 1], t).numpy(), folder / "model.pt", None, tags={"scene": device, "auc": 0.9},
                       calibration=folder / "calibration.json")
    mlflow.MlflowClient().set_registered_model_alias(name, "champion", v.version)
    return str(v.version)
