"""MLflow: tracking (runs, params, metrics, artifacts, tags) and the model registry
(`ipad-vad-base-<method>`, `ipad-vad-<device>`, aliases `champion` / `challenger`). A device's
versions may be of different methods: each records its method in the `method` tag."""

BASE_PREFIX = "ipad-vad-base-"


def device_model_name(device: str) -> str:
    return f"ipad-vad-{device}"


def base_model_name(method: str) -> str:
    return f"{BASE_PREFIX}{method}"
