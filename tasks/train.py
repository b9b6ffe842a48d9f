import mlflow
from prefect import task

from ipad_vad.jobs.adapt import adapt_device
from ipad_vad.jobs.layout import adapter_dir, base_dir, pretrain_scenes
from ipad_vad.jobs.pretrain import pretrain
from ipad_vad.methods import FitHooks, get_method
from ipad_vad.registry import tracking

from .common import GPU_TAGS


def _log_epoch(epoch: int, metrics: dict) -> None:
    mlflow.log_metrics({k: v for k, v in metrics.items() if k != "epoch"}, step=epoch)


@task(name="pretrain", tags=GPU_TAGS)
def pretrain_task(p: dict, method: str) -> dict:
    """Fit a method's base model on the pretrain scenes and log it."""
    m = get_method(method, p)
    with tracking.run(f"pretrain {method}", "pretrain", params={"method": method, "scenes": ",".join(pretrain_scenes(p)),
                      **m.model_params(), "train": p["train"]}, manifest=p["data"]["manifest"]):
        mlflow.set_tag("ipad.method", method)
        res = pretrain(p, method, FitHooks(on_epoch_end=_log_epoch, progress=False))
        mlflow.log_metric("parameters", res["parameters"])
        mlflow.log_artifact(str(base_dir(p, method) / "method.json"))
    return {k: res[k] for k in ("method", "clips", "path", "parameters")}


@task(name="finetune", tags=GPU_TAGS)
def finetune_task(p: dict, method: str, device: str) -> dict:
    """Adapt a method's base model to one device (lora | full | refit, as the method declares)."""
    out = adapter_dir(p, method, device)
    with tracking.run(f"finetune {method} {device}", "finetune", device, params={"method": method,
                      "finetune": p["finetune"]}, manifest=p["data"]["manifest"]):
        mlflow.set_tag("ipad.method", method)
        info = adapt_device(p, method, device, FitHooks(on_epoch_end=_log_epoch, progress=False))
        mlflow.log_metric("model_bytes", info["bytes"])
        if "trainable" in info:
            mlflow.log_metric("trainable_params", info["trainable"]["trainable"])
        mlflow.log_artifacts(str(out), artifact_path="adapted")
    return {"device": device, "method": method, "adaptation": info["adaptation"], "bytes": info["bytes"]}
