"""Devices whose champions adapt one base with LoRA share it in one process (`ipad serve`, issue 27):
the base's weights once, each device's part - its LoRA matrices and the modules peft keeps per
adapter (the feature bank's bank, the Video Swin methods' embedding and norms) - as a named adapter
of one peft model (``PeftModel.from_pretrained(base, dir, adapter_name=...)``, then
``load_adapter(dir, adapter_name=...)`` per device, ``set_adapter`` before each device's forward,
``delete_adapter`` when a device's champion moves on).

A champion declares its base by the registered files: a version registered with an adapted folder whose
``method.json`` says ``adaptation: lora`` carries the base's ``model.pt`` beside it
(``registry/pyfunc_model.log_scorer``); devices whose base files have the same SHA-256
(``registry/idempotency.content_key``) share one base.

Scores are those of the device's own champion as `ipad score` loads it (the adapter merged into the
base: ``methods/adaptation.load_adapted``) bit for bit. peft's unmerged forward adds the low-rank
branch to the base layer's output, which differs from the merged weight's output by rounding (measured
on a feature bank: up to 3e-5 of a calibrated score, above the 1e-6 that serve promises), so each
call builds every adapted layer's merged weight from peft's own ``get_delta_weight`` - the tensor
``merge_and_unload`` adds to the base weight - and runs the base layer with it, the layer marked merged
for the call. That costs one small product per adapted layer and forward, and no per-device copy of a
weight. peft's mixed batches (``adapter_names=``) are not used: they need the batch of every adapted
layer to be the batch of clips, and the feature bank's encoder sees a clip's frames as its batch.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import DataError


@dataclass(frozen=True)
class AdapterFiles:
    """A LoRA champion's files: its base, its adapter (peft ``save_pretrained``), its calibration."""

    base_key: str  # SHA-256 of the base model file: devices with the same key share the base
    base: Path
    adapter: Path
    calibration: Path | None


def artifacts(mlmodel: str | Path) -> dict[str, Path]:
    """The artifacts a registered version's MLmodel file names, as paths beside it."""
    import yaml

    mlmodel = Path(mlmodel)
    spec = yaml.safe_load(mlmodel.read_text())
    return {
        k: mlmodel.parent / (v["path"] if isinstance(v, dict) else v)
        for k, v in ((spec.get("flavors") or {}).get("python_function") or {}).get("artifacts", {}).items()
    }


def lora_files(local: str | Path) -> AdapterFiles | None:
    """The files of a registered version downloaded to `local` (its MLmodel folder) when it is a LoRA
    adaptation of a base (None otherwise: a whole model, served as `ipad score` loads it)."""
    from ..registry.idempotency import content_key

    arts = artifacts(Path(local) / "MLmodel")
    adapted, base = arts.get("adapted"), arts.get("base")
    if adapted is None or base is None or not (adapted / "method.json").is_file():
        return None
    meta = json.loads((adapted / "method.json").read_text())
    adapter = adapted / "adapter"
    if meta.get("adaptation") != "lora" or not (adapter / "adapter_config.json").is_file():
        return None
    cfg = json.loads((adapter / "adapter_config.json").read_text())
    if cfg.get("peft_type", "LORA") != "LORA" or cfg.get("use_dora") or cfg.get("lora_bias"):
        return None  # a variant whose merge is not the plain delta: served merged, on its own
    return AdapterFiles(content_key(base), base, adapter, arts.get("calibration"))


def adapter_name(device: str, version: str | None) -> str:
    """A peft adapter name (a module key: no dots) for a device's version."""
    return re.sub(r"\W", "_", f"{device}_v{version}")


class SharedBase:
    """One base model on `device`, with a named LoRA adapter per device version (``add``). Calls go
    through ``AdapterView`` (the device's model as scorers use it); a lock keeps an adapter being
    added or removed (the registry poller's thread) apart from a forward (the scoring loop's)."""

    def __init__(self, base: str | Path, key: str, device: str | torch.device = "cpu"):
        from ..methods import load_model_file

        self.key, self.device = key, torch.device(device)
        self.method, self._base = load_model_file(base)
        self._base = self._base.eval().to(self.device)
        self.peft = None  # the PeftModel, made by the first adapter
        self.lock = threading.RLock()
        self.views: dict[str, AdapterView] = {}
        self._layers: list[nn.Module] = []

    def add(self, name: str, adapter_dir: str | Path) -> AdapterView:
        from peft import PeftModel

        with self.lock:
            if name in self.views:
                return self.views[name]
            try:
                if self.peft is None:
                    self.peft = PeftModel.from_pretrained(self._base, str(adapter_dir), adapter_name=name)
                else:
                    self.peft.load_adapter(str(adapter_dir), adapter_name=name)
            except (OSError, ValueError, RuntimeError, KeyError) as e:
                raise DataError(adapter_dir, f"cannot load the LoRA adapter on the shared base ({e})") from None
            self.peft.eval().to(self.device)
            self._refresh()
            view = self.views[name] = AdapterView(self, name)
            return view

    def remove(self, name: str) -> None:
        """Drop an adapter no camera uses any more (the base stays while any adapter is left)."""
        with self.lock:
            self.views.pop(name, None)
            if self.peft is not None and name in self.peft.peft_config and len(self.peft.peft_config) > 1:
                self.peft.delete_adapter(name)
                self._refresh()

    def _refresh(self) -> None:
        """The adapted layers; and each module peft keeps per adapter has its base copy pointed at an
        adapter's copy. peft keeps that base copy only as the template a new adapter's copy starts from
        (its state is then replaced by the adapter's) and to run the model without adapters, which
        serving never does; the feature bank's is its pretraining bank, the largest tensor of the model,
        held for nothing."""
        from peft.tuners.lora import LoraLayer
        from peft.utils import ModulesToSaveWrapper

        self._layers = [m for m in self.peft.modules() if isinstance(m, LoraLayer)]
        for m in self.peft.modules():
            if isinstance(m, ModulesToSaveWrapper) and len(m.modules_to_save):
                m.original_module = next(iter(m.modules_to_save.values()))

    def call(self, name: str, fn: str | None, *args, **kwargs):
        """The base model's `fn` (None: its forward) as the device's merged model computes it."""
        with self.lock:
            self.peft.set_adapter(name, inference_mode=True)
            inner = self.peft.get_base_model()
            swapped = []
            try:
                with (
                    torch.no_grad(),
                    torch.autocast(self.device.type, enabled=False),
                ):  # as merge_and_unload: full precision
                    for layer in self._layers:
                        if name in layer.lora_A:
                            base = layer.get_base_layer()
                            merged = nn.Parameter(base.weight + layer.get_delta_weight(name), requires_grad=False)
                            swapped.append((layer, base, base._parameters["weight"], layer.merged_adapters))
                            base._parameters["weight"] = merged
                            layer.merged_adapters = [name]  # its forward runs the base layer alone
                return (inner if fn is None else getattr(inner, fn))(*args, **kwargs)
            finally:
                for layer, base, weight, marks in swapped:
                    base._parameters["weight"] = weight
                    layer.merged_adapters = marks

    def tensors(self) -> list[torch.Tensor]:
        """Every parameter and buffer held (for memory accounting)."""
        with self.lock:
            m = self.peft if self.peft is not None else self._base
            return [*m.parameters(), *m.buffers()]


class AdapterView(nn.Module):
    """A device's model over a shared base: called (and its methods called) like the device's own
    merged model. Holds no tensor of its own: ``.to()``/``.eval()`` leave the shared base alone."""

    def __init__(self, shared: SharedBase, name: str):
        super().__init__()
        object.__setattr__(self, "shared", shared)  # not a submodule
        self.adapter = name

    def forward(self, *args, **kwargs):
        return self.shared.call(self.adapter, None, *args, **kwargs)

    def __getattr__(self, attr: str):
        try:
            return super().__getattr__(attr)
        except AttributeError:
            pass
        shared = object.__getattribute__(self, "shared")
        with shared.lock:
            shared.peft.set_adapter(self.adapter, inference_mode=True)
            value = getattr(shared.peft.get_base_model(), attr)
        if callable(value) and not isinstance(value, nn.Module):
            return lambda *a, **k: shared.call(self.adapter, attr, *a, **k)
        copies = getattr(value, "modules_to_save", None)  # a module peft keeps per adapter: this device's
        return copies[self.adapter] if isinstance(copies, nn.ModuleDict) and self.adapter in copies else value


def tensor_bytes(tensors) -> int:
    """Bytes of distinct storages among `tensors` (a tensor shared by several models counted once)."""
    seen, total = set(), 0
    for t in tensors:
        if t.device.type == "meta":
            continue
        s = t.untyped_storage()
        if s.data_ptr() not in seen:
            seen.add(s.data_ptr())
            total += s.nbytes()
    return total
