"""The description a registered model shows in MLflow's registry: what it detects, on which device,
with which methods competing, and the rule that makes a version `champion` (registry/promotion.py).
Set at each registration, so it follows the settings the latest version was promoted under."""

from __future__ import annotations


def device_model(
    device: str, methods: list[str], champion_method: str, margin: float, min_auc: float, alerting: bool
) -> str:
    first = (
        "Among the methods that reach the minimum, one whose calibrated threshold alerts at least one of the "
        "device's labelled anomalous spans (`alerts_on_test`) goes before one that alerts none, and a champion "
        "that alerts is replaced only by a version that alerts (pipeline.promote_alerting). "
        if alerting
        else ""
    )
    return (
        f"Anomaly detector of device {device} (frames of its camera in, a score per frame and alerts out; "
        f"load with mlflow.pyfunc.load_model('models:/ipad-vad-{device}@champion')).\n\n"
        f"Each version is the best of the competing methods ({', '.join(methods)}) by frame-level AUC "
        f"(scene norm, combined score) on {device}'s labelled test footage; the latest is {champion_method}, "
        f"its method in the version's `method` tag, its AUC in percent in `auc_pct`. A version becomes "
        f"`champion` only if its AUC reaches {min_auc:g} % (pipeline.promote_min_auc) and beats the current "
        f"champion's by at least {margin:g} points (pipeline.promote_margin; a tie goes to the newer version); "
        f"otherwise it is `challenger`. "
        f"{first}"
        f"Alert tags: `false_alarm_rate_target` (what the threshold was calibrated for), "
        f"`false_alarm_rate_measured_test` and `recall_measured_test` (that threshold on the test footage). "
        f"Versions are never deleted. Lineage tags: "
        f"`pretrain_run_id`, `adapt_run_id` (the training runs whose files were registered), `git_commit`, "
        f"`data_version`."
    )


def base_model(method: str, label: str) -> str:
    return (
        f"Base model of method {method} ({label}), trained on the pretraining scenes; every device's "
        f"model of this method adapts it (LoRA, full fine-tuning or a refit, as the method declares). "
        f"`pretrain_run_id` names the run that trained it."
    )
