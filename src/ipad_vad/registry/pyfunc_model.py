"""The registered model: an MLflow pyfunc that rebuilds the base model and applies the device's
LoRA adapter (merged for inference). Input: clips (N, 3, T, H, W) float32 in [-1, 1]. Output: per
clip ``[psnr, mse, t_p]`` of the centre frame (t_p = -1 for models without a period head)."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np


class IpadScorer(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        from ..train.lora import load_adapter
        from ..train.runs import load_model

        model, state = load_model(context.artifacts["base"])
        if "adapter" in context.artifacts:
            model = load_adapter(model, context.artifacts["adapter"], merge=True)
        self.model = model.eval()
        self.clip = state["clip"]
        self.calibration = None  # score statistics + alert threshold, chosen at evaluation (alerts/calibration.py)
        if "calibration" in context.artifacts:
            from ..alerts.calibration import Calibration

            self.calibration = Calibration.load(context.artifacts["calibration"])

    def predict(self, context, model_input, params=None):
        import torch

        from ..evaluate.scoring import clip_errors

        res = clip_errors(self.model, torch.as_tensor(np.asarray(model_input, dtype=np.float32)))
        return np.stack([res["psnr"].numpy(), res["mse"].numpy(), res["t_p"].float().numpy()], 1)


def log_scorer(base: str | Path, adapter: str | Path | None, registered_name: str, example: np.ndarray,
               tags: dict | None = None, calibration: str | Path | None = None):
    """Log the scorer in the active run and register it; returns the new ModelVersion. The
    calibration file travels with the model, and its threshold is also a version tag."""
    from mlflow.models import infer_signature

    artifacts = {"base": str(base)}
    if adapter is not None:
        artifacts["adapter"] = str(adapter)
    if calibration is not None:
        artifacts["calibration"] = str(calibration)
    scorer = IpadScorer()
    ctx = type("Ctx", (), {"artifacts": artifacts})()
    scorer.load_context(ctx)
    signature = infer_signature(example, scorer.predict(ctx, example))
    info = mlflow.pyfunc.log_model(name="model", python_model=scorer, artifacts=artifacts,
                                   registered_model_name=registered_name, signature=signature,
                                   input_example=example[:1])
    client = mlflow.MlflowClient()
    version = client.get_model_version(registered_name, info.registered_model_version)
    for k, v in (tags or {}).items():
        client.set_model_version_tag(registered_name, version.version, k, str(v))
    return version
