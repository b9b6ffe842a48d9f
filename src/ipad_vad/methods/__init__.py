"""Detection methods, one file each, registering themselves with ``@register``.

Adding a method is one file here (its ``nn.Module`` in ``models/``) and a ``methods.<name>`` entry in
params.yaml; the pipeline, the report, calibration, the registry and ``ipad score`` pick it up from
the registry. An ablation variant is a subclass with ``variant_of`` declared in its parent's file.
The core interface is in ``base.py``, the opt-in abilities (LoRA, window scoring, a memory bank) in
``abilities.py``, the shared adaptation implementations in ``adaptation.py``; the reference detector
``knn.py`` is the smallest complete example.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from ..errors import ConfigError
from .base import ClipScores, FitHooks, FitResult, Method, ScoreComponent, ScoreContext, load_model_file  # noqa: F401

_REGISTRY: dict[str, type[Method]] = {}
_INFRASTRUCTURE = {"base", "abilities", "adaptation"}  # modules of this package that declare no method
_discovered = False


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: make a Method subclass known under its ``name``."""
    name = getattr(cls, "name", None)
    if not name:
        raise TypeError(f"{cls.__qualname__}: a method needs a `name`")
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise TypeError(f"method {name!r} registered twice ({_REGISTRY[name].__module__} and {cls.__module__})")
    _check_abilities(cls)
    _REGISTRY[name] = cls
    return cls


def _check_abilities(cls: type[Method]) -> None:
    """A method that declares what an ability needs has that ability (``abilities.py``)."""
    from .abilities import BankSettings, LoRAMixin, MemoryBankMixin, WindowScoringMixin

    where = f"{cls.__module__}.{cls.__qualname__}"
    if "lora" in cls.adaptations and not (issubclass(cls, LoRAMixin) and getattr(cls, "lora_targets", None)):
        raise TypeError(f"{where}: 'lora' among its adaptations needs LoRAMixin and its lora_targets")
    if any(c.window for c in cls.components) and not issubclass(cls, WindowScoringMixin):
        raise TypeError(f"{where}: window score components need WindowScoringMixin")
    if issubclass(cls, MemoryBankMixin) and not issubclass(cls.Settings, BankSettings):
        raise TypeError(f"{where}: a MemoryBankMixin's Settings extend BankSettings")
    if cls.variant_of and cls.variant_of not in _REGISTRY:
        raise TypeError(
            f"{where}: variant of {cls.variant_of!r}, which is not registered before it "
            f"(declare a variant below its parent, in the parent's file)"
        )


def _discover() -> None:
    global _discovered
    if not _discovered:
        for mod in pkgutil.iter_modules(__path__):
            if mod.name not in _INFRASTRUCTURE and not mod.name.startswith("_"):
                importlib.import_module(f"{__name__}.{mod.name}")
        _discovered = True


def method_names() -> list[str]:
    _discover()
    return sorted(_REGISTRY)


def get_method_class(name: str) -> type[Method]:
    """The class of method `name`: its own file (``<name>.py``) is imported first, and every method
    only when that does not register it (a variant in its parent's file, an unknown name): a step
    that builds knn then never imports ipad_vad's Video Swin (timm, torchvision; ~3 s a process)."""
    own = Path(__path__[0]) / f"{name}.py"
    if (
        name not in _REGISTRY
        and name.isidentifier()
        and name not in _INFRASTRUCTURE
        and not name.startswith("_")
        and own.is_file()
    ):
        importlib.import_module(f"{__name__}.{name}")
    if name not in _REGISTRY:
        _discover()
    if name not in _REGISTRY:
        raise ConfigError(f"unknown method {name!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def get_method(name: str, params: dict) -> Method:
    """The method `name` configured by `params` (params.yaml with its profile applied)."""
    return get_method_class(name)(params)
