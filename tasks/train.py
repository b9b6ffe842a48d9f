import mlflow
from prefect import task

from ipad_vad.jobs.adapt import adapt_to_device
from ipad_vad.jobs.layout import adapter_dir, base_dir, pretrain_scenes
from ipad_vad.jobs.pretrain import pretrain
from ipad_vad.methods import FitHooks, get_method
from ipad_vad.registry import lineage, tracking

from .common import GPU_TAGS, log


def _hooks(what: str) -> FitHooks:
    """Each epoch's metrics to the MLflow run (a curve per metric) and a line to the Prefect run log."""

    def on_epoch_end(epoch: int, metrics: dict) -> None:
        values = {k: v for k, v in metrics.items() if k != "epoch"}
        mlflow.log_metrics(values, step=epoch)
        log("%s: epoch %d: %s", what, epoch, ", ".join(f"{k} {v:.4g}" for k, v in values.items()))

    return FitHooks(on_epoch_end=on_epoch_end, progress=False)


@task(name="pretrain", tags=GPU_TAGS)
def pretrain_task(p: dict, method: str) -> dict:
    """Fit a method's base model on the pretrain scenes and log it."""
    m = get_method(method, p)
    scenes = pretrain_scenes(p)
    with tracking.run(
        f"pretrain {method}",
        "pretrain",
        params={"method": method, "scenes": ",".join(scenes), **m.model_params(), "train": p["train"]},
        manifest=p["data"]["manifest"],
    ):
        mlflow.set_tag("ipad.method", method)
        res = pretrain(p, method, _hooks(f"pretrain {method}"))
        mlflow.log_metric("parameters", res["parameters"])
        mlflow.log_artifact(str(base_dir(p, method) / "method.json"))
        lineage.mark_produced(base_dir(p, method) / "model.pt")
    log("pretrain %s: %d clips of %s, %d parameters", method, res["clips"], ",".join(scenes), res["parameters"])
    return {k: res[k] for k in ("method", "clips", "path", "parameters")}


@task(name="adapt", tags=GPU_TAGS)
def adapt_task(p: dict, method: str, device: str) -> dict:
    """Adapt a method's base model to one device (lora | full | refit, as the method declares)."""
    out = adapter_dir(p, method, device)
    with tracking.run(
        f"adapt {method} {device}",
        "adapt",
        device,
        params={"method": method, "adapt": p["adapt"]},
        manifest=p["data"]["manifest"],
    ):
        mlflow.set_tag("ipad.method", method)
        info = adapt_to_device(p, method, device, _hooks(f"adapt {method} {device}"))
        mlflow.log_metric("model_bytes", info["bytes"])
        if "trainable" in info:
            mlflow.log_metric("trainable_params", info["trainable"]["trainable"])
        mlflow.log_artifacts(str(out), artifact_path="adapted")
        lineage.mark_produced(out)
    log(
        "adapt %s %s: %s adaptation, %d bytes saved%s",
        method,
        device,
        info["adaptation"],
        info["bytes"],
        f", {info['trainable']['trainable']} trainable parameters" if "trainable" in info else "",
    )
    return {"device": device, "method": method, "adaptation": info["adaptation"], "bytes": info["bytes"]}
