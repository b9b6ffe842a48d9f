import json
from pathlib import Path

import mlflow
import numpy as np
from prefect import task

from ipad_vad.io_utils import read_dataframe, write_json
from ipad_vad.pipeline.layout import pretrain_scenes
from ipad_vad.pipeline.methods import adapter_dir, base_dir
from ipad_vad.registry import device_model_name, tracking
from ipad_vad.registry.promotion import promote
from ipad_vad.registry.pyfunc_model import log_scorer
from ipad_vad.train.runs import dataset

from .common import IO_RETRIES


@task(name="promote", **IO_RETRIES)
def promote_task(p: dict, device: str, method: str = "ipad_vad") -> dict:
    """Register the device's adapter as a new version of `ipad-vad-<device>` and move `champion`
    only if its AUC (scene norm, combined score) beats the current champion's by the margin."""
    pipe = p["pipeline"]
    metrics = json.loads((Path(pipe["eval_root"]) / device / "metrics.json").read_text())
    auc = float(metrics["auc"][method])
    calibration = Path(pipe["eval_root"]) / device / "calibration" / f"{method}.json"
    cal = json.loads(calibration.read_text())
    example = dataset(p, read_dataframe(p["data"]["manifest"]), "testing", [device])[0]["clip"][None].numpy()
    with tracking.run(f"promote {device}", "promote", device, manifest=p["data"]["manifest"]):
        mlflow.log_metric("auc", auc)
        version = log_scorer(base_dir(p, method) / "model.pt", adapter_dir(p, method, device) / "adapter",
                             device_model_name(device), example.astype(np.float32),
                             tags={"scene": device, "method": method, "data_version": tracking.data_version(p["data"]["manifest"]),
                                   "git_commit": tracking.git_commit(), "threshold": repr(cal["threshold"]),
                                   "false_alarm_rate": cal["false_alarm_rate"]},
                             calibration=calibration)
        decision = promote(device_model_name(device), version.version, auc, float(pipe["promote_margin"]))
        mlflow.set_tags({"decision": decision.alias, "model_version": version.version})
    record = {"device": device, "model": decision.name, "version": decision.version, "auc": auc,
              "threshold": cal["threshold"], "alias": decision.alias,
              "previous_champion": decision.previous_champion, "previous_auc": decision.previous_auc}
    write_json(Path(pipe["registry_root"]) / f"{device}.json", record)
    return record


@task(name="register-base", **IO_RETRIES)
def register_base_task(p: dict, method: str = "ipad_vad") -> dict:
    """Register the pretrained base model as a new version of `ipad-vad-base`."""
    from ipad_vad.registry import BASE_MODEL

    scene = pretrain_scenes(p)[0]
    example = dataset(p, read_dataframe(p["data"]["manifest"]), "training", [scene])[0]["clip"][None].numpy()
    with tracking.run("register base", "register", manifest=p["data"]["manifest"]):
        version = log_scorer(base_dir(p, method) / "model.pt", None, BASE_MODEL, example.astype(np.float32),
                             tags={"method": method, "data_version": tracking.data_version(p["data"]["manifest"])})
    return {"model": BASE_MODEL, "version": version.version}
