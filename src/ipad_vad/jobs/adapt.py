"""Adapt a method's base to one device (``methods/adaptation.py``: lora | full | refit, as the
method declares): ``models/adapters/<device>/<method>/``."""

from __future__ import annotations

from pathlib import Path

import torch

from ..data.manifest import scene_rows
from ..io_utils import read_dataframe
from ..methods import FitHooks, get_method
from ..methods.adaptation import adapt
from ..train.loop import training_threads
from .data import DataSource, clip_dataset
from .layout import adapter_dir, base_dir
from .settings import AdaptSettings


def adapt_to_device(
    params: dict,
    method_name: str,
    device: str,
    hooks: FitHooks | None = None,
    *,
    manifest=None,
    base_path: str | Path | None = None,
    out_dir: str | Path | None = None,
    source: DataSource = DataSource.PREPARED,
) -> dict:
    """Adapt `method_name`'s base to `device` (lora | full | refit, as the method declares). Left out,
    `manifest`, `base_path` and `out_dir` are the pipeline's: data.manifest, the method's base
    model.pt and ``models/adapters/<device>/<method>/``."""
    method = get_method(method_name, params)
    a = AdaptSettings.from_params(params)
    manifest = read_dataframe(params["data"]["manifest"]) if manifest is None else manifest
    base_path = base_dir(params, method_name) / "model.pt" if base_path is None else base_path
    out_dir = adapter_dir(params, method_name, device) if out_dir is None else out_dir
    torch.manual_seed(int(params["train"]["seed"]))
    ds = clip_dataset(params, manifest, "training", [device], source)
    settings = a.train_settings(params)
    n_calibration = len(scene_rows(manifest, device, "calibration"))
    with training_threads(settings.threads):  # also a method's own fitting loop: reproducible weights
        info = adapt(method, base_path, ds, out_dir, settings, hooks, a.lora_settings(), n_calibration)
    return {"method": method_name, "device": device, "adaptation": method.adaptation, **info}
