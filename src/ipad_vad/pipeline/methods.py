"""Methods compared by the pipeline (rows of the report) and where their models live.

=====================  ==========  ======  =================================================
method                 model       LoRA    adaptation to a device
=====================  ==========  ======  =================================================
ipad_vad               ipad_vad    yes     LoRA adapter (q, v) + embedding + norms
ipad_vad_no_memory     ipad_vad    yes     same, ``memory.use: false`` (Table 4 ablation)
v_swin_ae              v_swin_ae   yes     same as ipad_vad (V-Swin-T of Table 2)
conv_ae, mem_ae        (same)      no      full fine-tuning (small models), same data share
=====================  ==========  ======  =================================================

Every method is pretrained on the pretrain scenes and adapted to each device on the same share of
its data, so the comparison is on equal footing and new footage of one device retrains only that
device. A device is evaluated with its adapted model, a pretrain scene with the base model. The
"without sliding window" ablation needs no model: it is IPAD-VAD's reconstruction score alone.
"""

from __future__ import annotations

import copy

from ..errors import ConfigError
from .layout import adapter_dir, base_dir  # noqa: F401  (re-exported for the tasks)

METHODS = {
    "ipad_vad": {"model": "ipad_vad", "lora": True},
    "ipad_vad_no_memory": {"model": "ipad_vad", "lora": True, "overrides": {"memory": {"use": False}}},
    "v_swin_ae": {"model": "v_swin_ae", "lora": True},
    "conv_ae": {"model": "conv_ae", "lora": False},
    "mem_ae": {"model": "mem_ae", "lora": False},
}
LABELS = {"ipad_vad": "IPAD-VAD", "ipad_vad_no_memory": "IPAD-VAD w/o memory", "v_swin_ae": "V-Swin-T",
          "conv_ae": "conAE", "mem_ae": "memAE", "ipad_vad_no_window": "IPAD-VAD w/o sliding window"}


def method(name: str) -> dict:
    if name not in METHODS:
        raise ConfigError(f"pipeline.methods: unknown method {name!r}; known: {list(METHODS)}")
    return METHODS[name]


def method_params(params: dict, name: str) -> dict:
    """params with the method's model name and overrides applied."""
    m = method(name)
    p = copy.deepcopy(params)
    p["model"]["name"] = m["model"]
    for k, v in m.get("overrides", {}).items():
        p["model"][k] = {**p["model"].get(k, {}), **v}
    return p


def model_for_scene(params: dict, name: str, scene: str):
    """The model that evaluates `scene` for method `name` (adapted model for a device)."""
    from ..train.runs import load_finetuned, load_model

    if scene in params["pipeline"]["devices"]:
        d = adapter_dir(params, name, scene)
        return load_finetuned(d) if method(name)["lora"] else load_model(d / "model.pt")[0]
    return load_model(base_dir(params, name) / "model.pt")[0]
