"""Pretrain a method's base model on the pretraining scenes (or, in a dataset without any, on the
devices' own training footage): ``models/base/<method>/{model.pt, method.json}``."""

from __future__ import annotations

from pathlib import Path

import torch

from ..io_utils import read_dataframe
from ..methods import FitHooks, get_method
from ..methods.base import write_method_json
from ..train.loop import TrainSettings, training_threads
from .data import DataSource, clip_dataset
from .layout import base_dir, pretrain_scenes


def fit_method(
    params: dict,
    method_name: str,
    manifest,
    scenes: list[str],
    out_dir: str | Path,
    source: DataSource,
    hooks: FitHooks | None = None,
) -> dict:
    """Fit `method_name` from scratch on the training footage of `scenes`; writes out_dir/model.pt."""
    method = get_method(method_name, params)
    out_dir = Path(out_dir)
    torch.manual_seed(int(params["train"]["seed"]))
    ds = clip_dataset(params, manifest, "training", scenes, source)
    settings = TrainSettings.from_params(params["train"])
    with training_threads(settings.threads):  # also a method's own fitting loop: reproducible weights
        res = method.fit(ds, out_dir, settings, hooks)
    path = method.save(res.model, out_dir / "model.pt")
    info = {
        "scenes": list(scenes),
        "clips": len(ds),
        "history": res.history,
        "path": str(path),
        "parameters": sum(p.numel() for p in res.model.parameters()),
        **res.info,
    }
    write_method_json(out_dir, method, **info)
    return {"method": method_name, **info}


def pretrain(
    params: dict, method_name: str, hooks: FitHooks | None = None, source: DataSource = DataSource.PREPARED
) -> dict:
    """The pipeline's pretrain job for one method."""
    manifest = read_dataframe(params["data"]["manifest"])
    return fit_method(
        params, method_name, manifest, pretrain_scenes(params), base_dir(params, method_name), source, hooks
    )
