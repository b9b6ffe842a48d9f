"""The registered model: an MLflow pyfunc that rebuilds any method's model from its saved files (a
base ``model.pt``; a device's adapted folder: LoRA adapter merged for inference, or a whole model)
and carries the device's calibration (alert threshold). Input: clips (N, 3, T, H, W) float32 in
[-1, 1]. Output: one row per clip with the method's clip-level score components as named columns,
plus ``t_p`` (the period position; -1 for methods without a period head), a float column: an integer
column in the output signature makes MLflow warn that missing values cannot be represented.

It is logged from code (MLflow's models-from-code, ``scorer_code.py``), not pickled: a registry entry
holds weights, settings and calibration as files and the code that reads them."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

# the code a registered version runs: the models-from-code file and the scorer it sets
SCORER_CODE = (Path(__file__).with_name("scorer_code.py"), Path(__file__))
# What a registered version needs installed to load and score: this package (it brings torch and the
# rest of the stack) and what the pyfunc itself imports, at the versions that logged it. Declared rather
# than inferred: MLflow's inference loads the model in a second Python process (about 20 s a
# registration here, issue 30) and also listed packages the model never imports.
RUNTIME_PACKAGES = ("ipad-vad", "mlflow", "cloudpickle", "numpy", "pandas", "pyarrow", "scipy", "torch")


def pip_requirements() -> list[str]:
    """The pinned requirements of a registered version (``RUNTIME_PACKAGES`` at their installed versions)."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in RUNTIME_PACKAGES]


class IpadScorer(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        from ..methods import load_model_file
        from ..methods.adaptation import load_adapted

        art = context.artifacts
        if "adapted" in art:
            self.method, model = load_adapted(art["adapted"], art.get("base"))
        else:
            self.method, model = load_model_file(art["base"])
        self.model = model.eval()
        self.clip = self.method.params["clip"]
        self.calibration = None  # score statistics + alert threshold, chosen at evaluation (alerts/calibration.py)
        if "calibration" in art:
            from ..alerts.calibration import Calibration

            self.calibration = Calibration.load(art["calibration"])

    def predict(self, context, model_input: np.ndarray, params: dict | None = None) -> pd.DataFrame:
        import torch

        from ..evaluate.scoring import score_batch

        res = score_batch(self.method, self.model, torch.as_tensor(np.asarray(model_input, dtype=np.float32)))
        out = pd.DataFrame(res.values.numpy(), columns=list(res.names))
        out["t_p"] = res.phase.numpy().astype(np.float64) if res.phase is not None else -1.0
        return out


def log_scorer(
    registered_name: str,
    example: np.ndarray,
    base: str | Path,
    adapted: str | Path | None = None,
    tags: dict | None = None,
    calibration: str | Path | None = None,
):
    """Log the scorer in the active run and register it; returns the new ModelVersion. The
    calibration file travels with the model, and its threshold is also a version tag."""
    from mlflow.models import infer_signature

    from ..methods.adaptation import is_adapted_dir

    artifacts = {"base": str(base)}
    if adapted is not None:
        if not is_adapted_dir(adapted):
            from ..errors import DataError

            raise DataError(adapted, "not an adapted model folder (method.json missing)")
        artifacts["adapted"] = str(adapted)
    if calibration is not None:
        artifacts["calibration"] = str(calibration)
    scorer = IpadScorer()
    ctx = type("Ctx", (), {"artifacts": artifacts})()
    scorer.load_context(ctx)
    signature = infer_signature(example, scorer.predict(ctx, example))
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(SCORER_CODE[0]),
        artifacts=artifacts,
        registered_model_name=registered_name,
        signature=signature,
        input_example=example[:1],
        pip_requirements=pip_requirements(),
    )
    client = mlflow.MlflowClient()
    version = client.get_model_version(registered_name, info.registered_model_version)
    for k, v in {"method": scorer.method.name, **(tags or {})}.items():
        client.set_model_version_tag(registered_name, version.version, k, str(v))
    return version
