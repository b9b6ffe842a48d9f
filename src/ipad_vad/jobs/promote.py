"""Promotion of a device's detector across methods.

The methods of ``pipeline.promote_methods`` compete on the device's labelled test footage (scene-norm
AUC of each method's combined score, as evaluated): the best one is registered as a new version of
``ipad-vad-<device>`` (with its adapted model, base and calibration; its method in the ``method``
tag) and becomes ``champion`` only if its AUC reaches ``pipeline.promote_min_auc`` and it beats the
current champion by at least ``pipeline.promote_margin`` (registry/promotion.py; a tie goes to the newer version), else ``challenger``; a device
whose best method stays below the minimum has no usable detector, and ``ipad score`` says so.
With ``pipeline.promote_alerting`` a method whose calibrated threshold alerts at least one of the
device's labelled anomalous spans goes before one that alerts none (registry/promotion.py: a champion
that never rings is no use to the plant); the version's ``alerts_on_test`` tag records it.
This selection uses labelled acceptance footage of the device; the report shows every method unselected.

AUCs here are in percent (``tracking.auc_pct``), as the settings (``promote_min_auc: 70``), the
version's ``auc_pct`` tag and the record ``<registry_root>/<device>.json`` hold them. A version's
alert tags say what was targeted and what was measured: ``false_alarm_rate_target`` (the rate the
threshold was calibrated for on held-out normal footage) beside ``false_alarm_rate_measured_test`` and
``recall_measured_test`` (that threshold on the labelled test footage), all fractions.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..io_utils import read_dataframe, write_json
from ..registry import base_model_name, descriptions, device_model_name
from ..registry.idempotency import CONTENT_TAG, content_key, registered_version
from ..registry.lineage import lineage_tags
from ..registry.promotion import AUC_TAG, alerts_on_test, best_candidate, promote
from ..registry.pyfunc_model import SCORER_CODE, log_scorer
from ..registry.tracking import auc_pct
from .data import DataSource, clip_dataset
from .layout import adapter_dir, base_dir, eval_dir, pretrain_scenes
from .settings import PipelineSettings


def _evaluation(params: dict, device: str, method: str) -> dict:
    f = eval_dir(params, device, method) / "metrics.json"
    if not f.is_file():
        raise FileNotFoundError(f"{f}: {method} was not evaluated on {device} (run its evaluate stage)")
    return json.loads(f.read_text())


def candidates(evaluations: dict[str, dict]) -> dict[str, float]:
    """Each competing method's AUC in percent on the device (scene norm, combined score)."""
    return {m: auc_pct(e["auc"]["scene_norm"]["score"]) for m, e in evaluations.items()}


def candidates_alerting(evaluations: dict[str, dict]) -> dict[str, bool | None]:
    """Per competing method: whether its calibrated threshold alerted a labelled anomalous span of the
    device's test footage (None: no labelled span, or the evaluation measured no alerts)."""
    return {m: alerts_on_test(e) for m, e in evaluations.items()}


def alert_tags(calibration: dict, evaluation: dict) -> dict[str, str]:
    """The version's alert tags: the false-alarm rate the threshold targets, and the false-alarm rate
    and recall measured with it on the test footage (when the evaluation measured them)."""
    measured = evaluation.get("alerts", {})
    tags = {"false_alarm_rate_target": repr(float(calibration["false_alarm_rate"]))}
    for tag, key in (
        ("false_alarm_rate_measured_test", "test_false_alarm_rate"),
        ("recall_measured_test", "test_recall"),
    ):
        if isinstance(measured.get(key), (int, float)) and measured[key] == measured[key]:
            tags[tag] = f"{measured[key]:.6f}"
    return tags


def _example(params: dict, scene: str, split: str, source: DataSource) -> np.ndarray:
    ds = clip_dataset(params, read_dataframe(params["data"]["manifest"]), split, [scene], source)
    return ds[0]["clip"][None].numpy().astype(np.float32)


def promote_device(
    params: dict, device: str, tags: dict | None = None, source: DataSource = DataSource.PREPARED
) -> dict:
    """Register the device's best method (within the active MLflow run) and apply the champion rule;
    writes ``<registry_root>/<device>.json``."""
    pipe = PipelineSettings.from_params(params, build=[])  # the section; the winner is built when it is logged
    evaluations = {m: _evaluation(params, device, m) for m in pipe.promote_methods}  # each read once
    aucs = candidates(evaluations)
    alerting = candidates_alerting(evaluations) if pipe.promote_alerting else {}
    method = best_candidate(aucs, pipe.promote_methods, alerting, pipe.promote_min_auc)
    calibration = eval_dir(params, device, method) / "calibration.json"
    cal = json.loads(calibration.read_text())
    base, adapted = base_dir(params, method) / "model.pt", adapter_dir(params, method, device)
    version_tags = {
        "scene": device,
        AUC_TAG: f"{aucs[method]:.4f}",
        "threshold": repr(cal["threshold"]),
        **alert_tags(cal, evaluations[method]),
        "candidates_auc_pct": json.dumps({m: round(a, 2) for m, a in aucs.items()}),
        **({"candidates_alerting": json.dumps(alerting)} if alerting else {}),
        **lineage_tags(base, adapted),
        **(tags or {}),
    }
    version = _register(
        device_model_name(device), _example(params, device, "testing", source), base, adapted, calibration, version_tags
    )
    _describe(
        device_model_name(device),
        descriptions.device_model(
            device,
            list(pipe.promote_methods),
            method,
            pipe.promote_margin,
            pipe.promote_min_auc,
            pipe.promote_alerting,
        ),
    )
    decision = promote(
        device_model_name(device),
        version.version,
        aucs[method],
        pipe.promote_margin,
        pipe.promote_min_auc,
        alerts=alerting.get(method),
    )
    record = {
        "device": device,
        "model": decision.name,
        "version": decision.version,
        "method": method,
        "auc": aucs[method],
        "candidates": aucs,
        "candidates_alerting": alerting,
        "alerts_on_test": decision.alerts,
        "threshold": cal["threshold"],
        "alias": decision.alias,
        "usable": decision.usable,
        "min_auc": pipe.promote_min_auc,
        "previous_champion": decision.previous_champion,
        "previous_auc": decision.previous_auc,
    }
    write_json(Path(pipe.registry_root) / f"{device}.json", record)
    return record


def register_base(
    params: dict, method: str, tags: dict | None = None, source: DataSource = DataSource.PREPARED
) -> dict:
    """Register a method's pretrained base as a version of ``ipad-vad-base-<method>`` (the same
    base registered again is the same version)."""
    from ..methods import get_method_class

    base = base_dir(params, method) / "model.pt"
    version = _register(
        base_model_name(method),
        _example(params, pretrain_scenes(params)[0], "training", source),
        base,
        None,
        None,
        {**lineage_tags(base, None), **(tags or {})},
    )
    _describe(base_model_name(method), descriptions.base_model(method, get_method_class(method).label))
    return {"model": base_model_name(method), "version": version.version}


def _describe(name: str, text: str) -> None:
    import mlflow

    mlflow.MlflowClient().update_registered_model(name, description=text)


def _register(name: str, example: np.ndarray, base: Path, adapted: Path | None, calibration: Path | None, tags: dict):
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
