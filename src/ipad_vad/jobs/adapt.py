"""Adapt a method's base to one device (``methods/adaptation.py``: lora | full | refit, as the
method declares): ``models/adapters/<device>/<method>/``."""

from __future__ import annotations

from pathlib import Path

import torch

from ..io_utils import read_dataframe
from ..methods import FitHooks, get_method
from ..methods.adaptation import adapt
from ..train.loop import training_threads
from .data import DataSource, clip_dataset
from .layout import adapter_dir, base_dir
from .settings import FinetuneSettings


def adapt_to_device(params: dict, method_name: str, device: str, manifest, base_path: str | Path, out_dir: str | Path,
                    source: DataSource, hooks: FitHooks | None = None) -> dict:
    method = get_method(method_name, params)
    f = FinetuneSettings.from_params(params)
    torch.manual_seed(int(params["train"]["seed"]))
    ds = clip_dataset(params, manifest, "training", [device], source)
    settings = f.train_settings(params)
    with training_threads(settings.threads):  # also a method's own fitting loop: reproducible weights
        info = adapt(method, base_path, ds, out_dir, settings, hooks, f.lora_settings())
    return {"method": method_name, "device": device, "adaptation": method.adaptation, **info}


def adapt_device(params: dict, method_name: str, device: str, hooks: FitHooks | None = None,
                 source: DataSource = DataSource.PREPARED) -> dict:
    """The pipeline's adaptation job for one method and device."""
    manifest = read_dataframe(params["data"]["manifest"])
    return adapt_to_device(params, method_name, device, manifest, base_dir(params, method_name) / "model.pt",
                           adapter_dir(params, method_name, device), source, hooks)
