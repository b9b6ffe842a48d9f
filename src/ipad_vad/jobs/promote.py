"""Promotion of a device's detector across methods.

The methods of ``pipeline.promote_methods`` compete on the device's labelled test footage (scene-norm
AUC of each method's combined score, as evaluated): the best one is registered as a new version of
``ipad-vad-<device>`` (with its adapted model, base and calibration; its method in the ``method``
tag) and becomes ``champion`` only if its AUC reaches ``pipeline.promote_min_auc`` and it beats the
current champion by ``pipeline.promote_margin`` (registry/promotion.py), else ``challenger``; a device
whose best method stays below the minimum has no usable detector, and ``ipad score`` says so.
This selection uses labelled acceptance footage of the device; the report shows every method unselected.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..io_utils import read_dataframe, write_json
from ..registry import base_model_name, descriptions, device_model_name
from ..registry.idempotency import CONTENT_TAG, content_key, registered_version
from ..registry.lineage import lineage_tags
from ..registry.promotion import best_candidate, promote
from ..registry.pyfunc_model import SCORER_CODE, log_scorer
from .data import DataSource, clip_dataset
from .layout import adapter_dir, base_dir, eval_dir, pretrain_scenes
from .settings import PipelineSettings


def candidates(params: dict, device: str) -> dict[str, float]:
    """Each competing method's AUC on the device (scene norm, combined score)."""
    pipe = PipelineSettings.from_params(params)
    out = {}
    for m in pipe.promote_methods:
        f = eval_dir(params, device, m) / "metrics.json"
        if not f.is_file():
            raise FileNotFoundError(f"{f}: {m} was not evaluated on {device} (run its evaluate stage)")
        out[m] = float(json.loads(f.read_text())["auc"]["scene_norm"]["score"])
    return out


def _example(params: dict, scene: str, split: str, source: DataSource) -> np.ndarray:
    ds = clip_dataset(params, read_dataframe(params["data"]["manifest"]), split, [scene], source)
    return ds[0]["clip"][None].numpy().astype(np.float32)


def promote_device(params: dict, device: str, tags: dict | None = None, source: DataSource = DataSource.PREPARED) -> dict:
    """Register the device's best method (within the active MLflow run) and apply the champion rule;
    writes ``<registry_root>/<device>.json``."""
    pipe = PipelineSettings.from_params(params)
    aucs = candidates(params, device)
    method = best_candidate(aucs, pipe.promote_methods)
    calibration = eval_dir(params, device, method) / "calibration.json"
    cal = json.loads(calibration.read_text())
    base, adapted = base_dir(params, method) / "model.pt", adapter_dir(params, method, device)
    version_tags = {"scene": device, "auc": f"{aucs[method]:.6f}", "threshold": repr(cal["threshold"]),
                    "false_alarm_rate": cal["false_alarm_rate"],
                    "candidates": json.dumps({m: round(a, 4) for m, a in aucs.items()}),
                    **lineage_tags(base, adapted), **(tags or {})}
    version = _register(device_model_name(device), _example(params, device, "testing", source), base, adapted,
                        calibration, version_tags)
    _describe(device_model_name(device), descriptions.device_model(device, list(pipe.promote_methods), method,
                                                                   pipe.promote_margin, pipe.promote_min_auc))
    decision = promote(device_model_name(device), version.version, aucs[method], pipe.promote_margin,
                       pipe.promote_min_auc)
    record = {"device": device, "model": decision.name, "version": decision.version, "method": method,
              "auc": aucs[method], "candidates": aucs, "threshold": cal["threshold"], "alias": decision.alias,
              "usable": decision.usable, "min_auc": pipe.promote_min_auc,
              "previous_champion": decision.previous_champion, "previous_auc": decision.previous_auc}
    write_json(Path(pipe.registry_root) / f"{device}.json", record)
    return record


def register_base(params: dict, method: str, tags: dict | None = None, source: DataSource = DataSource.PREPARED) -> dict:
    """Register a method's pretrained base as a version of ``ipad-vad-base-<method>`` (the same
    base registered again is the same version)."""
    from ..methods import get_method_class

    base = base_dir(params, method) / "model.pt"
    version = _register(base_model_name(method), _example(params, pretrain_scenes(params)[0], "training", source),
                        base, None, None, {**lineage_tags(base, None), **(tags or {})})
    _describe(base_model_name(method), descriptions.base_model(method, get_method_class(method).label))
    return {"model": base_model_name(method), "version": version.version}


def _describe(name: str, text: str) -> None:
    import mlflow

    mlflow.MlflowClient().update_registered_model(name, description=text)


def _register(name: str, example: np.ndarray, base: Path, adapted: Path | None, calibration: Path | None,
              tags: dict):
    """Log and register the scorer, or — when these very files are already a version of `name`
    (a retry, a rerun on unchanged models) — that version, its tags set again
    (registry/idempotency.py). The key includes the scorer's code: a version is files and the code
    that reads them, so new code is a new version."""
    import mlflow

    key = content_key(base, adapted, calibration, *SCORER_CODE)
    existing = registered_version(name, key)
    if existing is None:
        return log_scorer(name, example, base, adapted, tags={**tags, CONTENT_TAG: key}, calibration=calibration)
    client = mlflow.MlflowClient()
    for k, v in tags.items():
        client.set_model_version_tag(name, existing.version, k, str(v))
    return client.get_model_version(name, existing.version)
