"""Adapting a pretrained method to one device: the three shared implementations.

* ``lora``  - peft LoRA adapters on the modules the method names (``Method.lora_targets``), the
  encoder's embedding and norms trained in full (seed 000 §4.4); saved as the adapter only, on top
  of the shared base (``adapter/``);
* ``full``  - every parameter fine-tuned from the base; saved as a whole ``model.pt``;
* ``refit`` - the method's ``fit`` run again on the device's footage (a memory bank is rebuilt);
  saved as a whole ``model.pt``.

All three see the same share of the device's training clips (``adapt.fraction``), so methods
compare on equal footing and the rest of the footage stays unseen for calibration — except a method
that can leave a recording out of its model (a memory bank, ``MemoryBankMixin.heldout_model``, with
``bank_footage: all``): it adapts on all of it (``MemoryBankMixin.adapt_fraction``) and is calibrated on each
recording against the others; and a method with ``adapt_footage: all`` on a device that has calibration
recordings: it adapts on all of the training footage and is calibrated on those. Every adapted
folder has a ``method.json`` saying which method and adaptation it is and which base it builds on.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
from torch import nn

from ..errors import ConfigError, DataError
from .abilities import adapt_fraction
from .base import FitHooks, Method, load_model_file, write_method_json


def adapt(
    method: Method,
    base_path: str | Path,
    dataset,
    out_dir: str | Path,
    settings,
    hooks: FitHooks | None = None,
    lora=None,
    n_calibration: int = 0,
) -> dict:
    """Adapt the saved base `base_path` of `method` to a device's clips `dataset`; writes `out_dir`.
    `settings`: TrainSettings with adapt's epochs, lr and data share; `lora`: LoraSettings;
    `n_calibration`: the device's calibration recordings (``adapt_fraction``)."""
    out_dir = Path(out_dir)
    base_method, base = load_model_file(base_path)
    if base_method.name != method.name:
        raise ConfigError(f"{base_path}: a {base_method.name} model, not {method.name}")
    settings = dataclasses.replace(
        settings, fraction=adapt_fraction(method, settings.fraction, len(dataset.videos), n_calibration)
    )
    info: dict = {
        "base": str(base_path),
        "fraction": settings.fraction,
        "clips_used": int(np.ceil(settings.fraction * len(dataset))),
    }
    if method.adaptation == "lora":  # a LoRAMixin (checked by `register`)
        from ..train.lora import LoraSettings, add_lora, save_adapter, trainable_summary

        lora = lora or LoraSettings()
        peft_model = add_lora(
            base, lora, method.lora_targets, f"{method.name} ({base_path})", method.lora_modules_to_save(lora)
        )
        res = method.fit(dataset, out_dir, settings, hooks, model=peft_model)
        adapter = save_adapter(res.model, out_dir / "adapter")
        info.update(
            lora=lora.__dict__,
            trainable=trainable_summary(res.model),
            bytes=sum(p.stat().st_size for p in adapter.iterdir()),
        )
    elif method.adaptation == "full":
        res = method.fit(dataset, out_dir, settings, hooks, model=base)
        info["bytes"] = method.save(res.model, out_dir / "model.pt").stat().st_size
    elif method.adaptation == "refit":
        res = method.fit(dataset, out_dir, settings, hooks)
        info["bytes"] = method.save(res.model, out_dir / "model.pt").stat().st_size
    else:  # guarded by Method.__init__
        raise ConfigError(f"unknown adaptation {method.adaptation!r}")
    info.update(history=res.history, **res.info)
    write_method_json(out_dir, method, **info)
    return info


def load_adapted(adapted_dir: str | Path, base_path: str | Path | None = None) -> tuple[Method, nn.Module]:
    """A device's adapted model (LoRA merged into the base for inference). `base_path` overrides the
    base recorded in ``method.json`` (the registered model carries its base as an artifact)."""
    adapted_dir = Path(adapted_dir)
    meta_path = adapted_dir / "method.json"
    if not meta_path.is_file():
        raise DataError(adapted_dir, "not an adapted model folder (method.json missing)")
    meta = json.loads(meta_path.read_text())
    if meta.get("adaptation") == "lora":
        from ..train.lora import load_adapter

        method, base = load_model_file(base_path or meta["base"])
        return method, load_adapter(base, adapted_dir / "adapter", merge=True)
    return load_model_file(adapted_dir / "model.pt")


def is_adapted_dir(path: str | Path) -> bool:
    return (Path(path) / "method.json").is_file()
