"""The model that scores a device's footage: its `champion` in the MLflow registry (or any model
URI), with the calibration (score statistics, threshold, alert settings) stored beside it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from ..alerts.calibration import Calibration
from ..errors import ConfigError, DataError
from ..methods.base import Method
from ..registry.promotion import usable, version_auc

if TYPE_CHECKING:
    from .shared_base import AdapterFiles


@dataclass
class LoadedScorer:
    method: Method
    model: torch.nn.Module
    calibration: Calibration
    uri: str
    version: str | None
    content_key: str | None = None  # the registry's content tag: devices whose champions are the same files
    shared: AdapterFiles | None = None  # `ipad serve`: a LoRA champion held as an adapter on a shared base
    #                                        (inference/shared_base.py); method and model set once attached


def load_scorer(device: str | None = None, model_uri: str | None = None, min_auc: float = 0.0) -> LoadedScorer:
    """Load `model_uri`, or the champion of `device`. Clear errors for a device that has no
    registered model, no champion or no usable one (its best AUC below `min_auc`,
    ``pipeline.promote_min_auc``: alerts of such a model would be noise), and for a model registered
    without a calibration. An explicit `model_uri` is loaded whatever its AUC."""
    if not (device or model_uri):
        raise ConfigError("give --device (its champion is used) or --model-uri")
    uri, version = (model_uri, None) if model_uri is not None else champion_uri(device, min_auc)
    return LoadedScorer(*load_model(uri), uri, version)


def champion_uri(device: str, min_auc: float = 0.0) -> tuple[str, str]:
    """The model URI and version of the champion of `device`, with ``load_scorer``'s checks."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from ..registry import BASE_PREFIX, device_model_name

    client = mlflow.MlflowClient()
    name = device_model_name(device)
    try:
        champion = client.get_model_version_by_alias(name, "champion")
    except MlflowException:
        champion = None
    best = _best_version(client, name) if champion is None or not _usable(champion, min_auc) else None
    if best is not None and not _usable(best, min_auc):
        raise ConfigError(
            f"device {device!r} has no usable detector: its best registered version {name} v{best.version} "
            f"({best.tags.get('method', '?')}) has AUC {version_auc(best):.1f} on its labelled test footage, "
            f"below pipeline.promote_min_auc = {min_auc:g} %; its alerts would be noise. More normal footage or "
            f"another method may help (see the report); to score with it anyway: --model-uri models:/{name}/{best.version}"
        )
    if best is not None and champion is not None:  # the minimum was raised after this champion was chosen
        champ_auc = version_auc(champion)
        raise ConfigError(
            f"the champion of {device!r} ({name} v{champion.version}) has AUC "
            f"{'unknown' if champ_auc is None else f'{champ_auc:.1f}'}, "
            f"below pipeline.promote_min_auc = {min_auc:g} %; v{best.version} reaches it: run `ipad promote --device "
            f"{device}` again, or pass --model-uri models:/{name}/{best.version}"
        )
    if champion is not None:
        version = champion.version
    else:
        known = sorted(
            m.name.removeprefix("ipad-vad-")
            for m in client.search_registered_models(filter_string="name LIKE 'ipad-vad-%'")
            if not m.name.startswith(BASE_PREFIX)
        )
        raise ConfigError(
            f"device {device!r} has no champion in the registry at {mlflow.get_tracking_uri()} "
            f"(no model {name!r} with alias 'champion'); devices with models: {known or 'none'}. "
            "Run the pipeline for it (dvc repro) or pass --model-uri."
        )
    return f"models:/{name}/{version}", str(version)


def load_model(uri: str):
    """(method, model, calibration) of the registered model `uri`, with clear errors."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        scorer = mlflow.pyfunc.load_model(uri).unwrap_python_model()
    except MlflowException as e:
        raise ConfigError(_load_problem(uri, e.message)) from None
    except DataError as e:  # a file of the version (weights, calibration) is missing or unreadable
        raise DataError(
            e.path,
            f"{e.problem} (a file of model {uri}: restore it from a backup of the artifact "
            "store, or pass another --model-uri)",
        ) from None
    cal = getattr(scorer, "calibration", None)
    if cal is None:
        raise no_calibration(uri)
    return scorer.method, scorer.model, cal


def no_calibration(uri: str) -> ConfigError:
    return ConfigError(
        f"model {uri} was registered without a calibration (threshold); re-run its device's "
        "evaluate and promote stages with this version of ipad-vad"
    )


def _usable(version, min_auc: float) -> bool:
    return usable(version_auc(version), min_auc)


def _best_version(client, name: str):
    """The registered version of `name` with the highest AUC tag (None when there is none)."""
    from mlflow.exceptions import MlflowException

    try:
        versions = [v for v in client.search_model_versions(f"name='{name}'") if version_auc(v) is not None]
    except MlflowException:
        return None
    return max(versions, key=version_auc, default=None)


def _load_problem(uri: str, message: str) -> str:
    """Why `uri` did not load, naming where its files should be. MLflow says ``No such artifact: ''``
    when a version's files were deleted from the artifact store (issue 29): that names neither the
    model nor the missing folder."""
    where = _artifact_location(uri)
    if message.startswith("No such artifact"):
        return (
            f"cannot load model {uri}: its files are missing from the artifact store"
            + (f" (nothing at {where})" if where else "")
            + ": deleted or moved? Restore them there, or pass "
            "another --model-uri (`ipad registry list` shows the registered versions)"
        )
    return f"cannot load model {uri}: {message}" + (f" (its files: {where})" if where else "")


def _artifact_location(uri: str) -> str | None:
    """Where the files of model `uri` are stored (a models:/ or runs:/ URI resolved; a path as is), or
    None when that cannot be told (an unknown version or run)."""
    from mlflow.exceptions import MlflowException

    try:
        if uri.startswith("models:/"):
            from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

            return ModelsArtifactRepository.get_underlying_uri(uri)
        if uri.startswith("runs:/"):
            from mlflow.store.artifact.runs_artifact_repo import RunsArtifactRepository

            return RunsArtifactRepository.get_underlying_uri(uri)
    except MlflowException:
        return None
    return uri
