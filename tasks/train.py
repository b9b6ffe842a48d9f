import mlflow
from prefect import task

from ipad_vad.io_utils import read_dataframe
from ipad_vad.pipeline.layout import pretrain_scenes
from ipad_vad.pipeline.methods import adapter_dir, base_dir, method, method_params
from ipad_vad.registry import tracking
from ipad_vad.train.runs import finetune, full_finetune, train_model

from .common import GPU_TAGS


@task(name="pretrain", tags=GPU_TAGS)
def pretrain_task(p: dict, method: str) -> dict:
    """Train a method's base model (IPAD-VAD on the synthetic scenes, or a baseline) and log it."""
    mp = method_params(p, method)
    scenes = pretrain_scenes(p)
    out = base_dir(p, method)
    with tracking.run(f"pretrain {method}", "pretrain", params={"method": method, "scenes": ",".join(scenes),
                      "model": mp["model"], "train": mp["train"], "clip": mp["clip"]}, manifest=p["data"]["manifest"]):
        res = train_model(mp, read_dataframe(p["data"]["manifest"]), scenes, out, progress=False,
                          on_epoch_end=lambda e, m: mlflow.log_metrics({k: v for k, v in m.items() if k != "epoch"}, step=e))
        mlflow.log_metric("parameters", res["parameters"])
        mlflow.log_artifact(str(out / "train.json"))
    return {k: res[k] for k in ("model", "clips", "path", "parameters")}


@task(name="finetune", tags=GPU_TAGS)
def finetune_task(p: dict, name: str, device: str) -> dict:
    """Adapt a method's base model to one device: LoRA for the Swin models, full fine-tuning of the
    small baselines, on the same share of the device's data."""
    mp = method_params(p, name)
    out = adapter_dir(p, name, device)
    log = lambda e, m: mlflow.log_metrics({k: v for k, v in m.items() if k != "epoch"}, step=e)  # noqa: E731
    manifest = read_dataframe(p["data"]["manifest"])
    with tracking.run(f"finetune {name} {device}", "finetune", device, params={"method": name,
                      "finetune": mp["finetune"]}, manifest=p["data"]["manifest"]):
        if method(name)["lora"]:
            meta = finetune(mp, manifest, device, base_dir(p, name) / "model.pt", out, progress=False, on_epoch_end=log)
            mlflow.log_metrics({"trainable_params": meta["trainable"]["trainable"], "adapter_bytes": meta["adapter_bytes"]})
            mlflow.log_artifacts(str(out / "adapter"), artifact_path="adapter")
            size = meta["adapter_bytes"]
        else:
            full_finetune(mp, manifest, device, base_dir(p, name) / "model.pt", out, progress=False, on_epoch_end=log)
            size = (out / "model.pt").stat().st_size
            mlflow.log_metric("model_bytes", size)
    return {"device": device, "method": name, "bytes": size}
