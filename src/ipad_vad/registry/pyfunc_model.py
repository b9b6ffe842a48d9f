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

    def predict(self, context, model_input, params=None):
        import torch

        from ..evaluate.scoring import psnr_from_mse

        x = torch.as_tensor(np.asarray(model_input, dtype=np.float32))
        half = x.shape[2] // 2
        with torch.no_grad():
            out = self.model(x)
            mse = (out["recon"].float()[:, :, half] - x[:, :, half]).pow(2).flatten(1).mean(1)
            t_p = out["period_logits"].argmax(-1).float() if "period_logits" in out else torch.full_like(mse, -1)
        return np.stack([psnr_from_mse(mse).numpy(), mse.numpy(), t_p.numpy()], 1)


def log_scorer(base: str | Path, adapter: str | Path | None, registered_name: str, example: np.ndarray,
               tags: dict | None = None):
    """Log the scorer in the active run and register it; returns the new ModelVersion."""
    from mlflow.models import infer_signature

    artifacts = {"base": str(base)}
    if adapter is not None:
        artifacts["adapter"] = str(adapter)
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
