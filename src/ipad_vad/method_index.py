"""Which methods ``methods/`` declares and in which file, read from the source without importing it
(that would import torch for every command and every settings check).

A method is a class decorated ``@register`` with a literal ``name = "..."``; an ablation variant
(``variant_of = "<parent>"``) is declared in its parent's file, below it. DVC's per-method stages
depend on the file that declares the method and on its parent's settings: ``stage_items`` gives them
what each stage needs (dvc.yaml cannot look a method's file up itself).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

METHODS_DIR = Path(__file__).with_name("methods")


@dataclass(frozen=True)
class Declared:
    name: str
    file: str  # the module's stem in methods/, e.g. "infp" for infp_baseline
    variant_of: str | None = None

    @property
    def family(self) -> str:
        """The method whose settings section this one's is merged over (itself when no variant)."""
        return self.variant_of or self.name


def _literal(cls: ast.ClassDef, attr: str) -> str | None:
    for node in cls.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == attr for t in node.targets):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                return node.value.value
    return None


def _registered(cls: ast.ClassDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "register" for d in cls.decorator_list)


@lru_cache(maxsize=4)
def _scan(folder: Path, stamp: tuple) -> dict[str, Declared]:
    out: dict[str, Declared] = {}
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and _registered(node):
                name = _literal(node, "name")
                if not name:
                    raise ValueError(f'{path}: @register class {node.name} has no literal `name = "..."`')
                out[name] = Declared(name, path.stem, _literal(node, "variant_of"))
    return out


def declared_methods(folder: Path = METHODS_DIR) -> dict[str, Declared]:
    """Every registered method by name, with the file that declares it."""
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.py")))
    return dict(_scan(folder, stamp))


def stage_item(name: str, device: str | None = None) -> dict:
    """What a per-method DVC stage needs: the method, the file that declares it, its family's section."""
    d = declared_methods()[name]
    return {"method": name, "file": d.file, "family": d.family, **({"device": device} if device else {})}


def stage_items(methods: list[str], devices: list[str]) -> dict[str, dict]:
    """dvc.yaml's foreach items of the per-method stages, keyed as DVC names them (``pretrain@<method>``,
    ``adapt_evaluate@<method>-<device>``): ``methods`` (one per method) and ``method_devices``."""
    return {
        "methods": {m: stage_item(m) for m in methods},
        "method_devices": {f"{m}-{d}": stage_item(m, d) for m in methods for d in devices},
    }


STAGE_ITEMS = "stage_items.yaml"  # beside dvc.yaml, which reads it as `vars`
STAGE_ITEMS_KEYS = ("pipeline.methods", "pipeline.devices")  # the params.yaml keys it is written from
_ITEMS_HEADER = (
    "# Written by `python -m ipad_vad.method_index` from params.yaml's base pipeline.methods and\n"
    "# pipeline.devices and the files of src/ipad_vad/methods/: dvc.yaml's per-method stages, each\n"
    "# with the file that declares its method and its family's settings section. Do not edit.\n"
)


def stage_items_text(params_path: str | Path) -> str:
    """The text of ``stage_items.yaml`` for params.yaml at `params_path` (its base values, as DVC's
    templating reads them)."""
    import yaml

    base = yaml.safe_load(Path(params_path).read_text()) or {}
    pipeline = base.get("pipeline") or {}
    items = stage_items(list(pipeline.get("methods") or []), list(pipeline.get("devices") or []))
    return _ITEMS_HEADER + yaml.safe_dump({"method_stages": items}, sort_keys=False, width=120)


def write_stage_items(params_path: str | Path) -> Path:
    """Write ``stage_items.yaml`` beside `params_path` (atomically)."""
    from .io_utils import atomic_path

    out = Path(params_path).with_name(STAGE_ITEMS)
    with atomic_path(out) as tmp:
        tmp.write_text(stage_items_text(params_path))
    return out


def check_stage_items(params_path: str | Path) -> None:
    """A one-line error when ``stage_items.yaml`` does not describe params.yaml's methods and devices
    (a method or device added, a method moved): DVC would run the stages of the old lists."""
    from .errors import ConfigError

    path = Path(params_path).with_name(STAGE_ITEMS)
    if not path.is_file() or path.read_text() != stage_items_text(params_path):
        raise ConfigError(
            f"{path}: {'missing' if not path.is_file() else 'stale'} for {Path(params_path).name}'s "
            f"pipeline.methods/devices; run `python -m ipad_vad.method_index` and commit it"
        )


if __name__ == "__main__":
    import sys

    print(write_stage_items(sys.argv[1] if len(sys.argv) > 1 else "params.yaml"))
