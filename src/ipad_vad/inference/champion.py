"""The model that scores a device's footage: its `champion` in the MLflow registry (or any model
URI), with the calibration (score statistics, threshold, alert settings) stored beside it."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..alerts.calibration import Calibration
from ..errors import ConfigError
from ..methods.base import Method


@dataclass
class LoadedScorer:
    method: Method
    model: torch.nn.Module
    calibration: Calibration
    uri: str
    version: str | None


def load_scorer(device: str | None = None, model_uri: str | None = None) -> LoadedScorer:
    """Load `model_uri`, or the champion of `device`. Clear errors for a device that has no
    registered model or no champion, and for a model registered without a calibration."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from ..registry import BASE_PREFIX, device_model_name

    if not (device or model_uri):
        raise ConfigError("give --device (its champion is used) or --model-uri")
    uri, version = model_uri, None
    if model_uri is None:
        client = mlflow.MlflowClient()
        name = device_model_name(device)
        try:
            version = client.get_model_version_by_alias(name, "champion").version
        except MlflowException:
            known = sorted(m.name.removeprefix("ipad-vad-") for m in client.search_registered_models(
                filter_string="name LIKE 'ipad-vad-%'") if not m.name.startswith(BASE_PREFIX))
            raise ConfigError(f"device {device!r} has no champion in the registry at {mlflow.get_tracking_uri()} "
                              f"(no model {name!r} with alias 'champion'); devices with models: {known or 'none'}. "
                              "Run the pipeline for it (dvc repro) or pass --model-uri.") from None
        uri = f"models:/{name}/{version}"
    try:
        scorer = mlflow.pyfunc.load_model(uri).unwrap_python_model()
    except MlflowException as e:
        raise ConfigError(f"cannot load model {uri}: {e.message}") from None
    cal = getattr(scorer, "calibration", None)
    if cal is None:
        raise ConfigError(f"model {uri} was registered without a calibration (threshold); re-run its device's "
                          "evaluate and promote stages with this version of ipad-vad")
    return LoadedScorer(scorer.method, scorer.model, cal, uri, version)
