"""MLflow: tracking (runs, params, metrics, artifacts, tags) and the model registry
(`ipad-vad-base`, `ipad-vad-<device>`, aliases `champion` / `challenger`)."""

BASE_MODEL = "ipad-vad-base"


def device_model_name(device: str) -> str:
    return f"ipad-vad-{device}"
