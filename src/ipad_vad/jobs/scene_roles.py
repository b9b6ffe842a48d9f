"""Which scenes of a data folder the pipeline runs over, and in which role, written into
params.yaml in one step (``ipad data scenes``), keeping its comments.

* devices: adapted (LoRA), calibrated, registered as ``ipad-vad-<scene>``;
* pretrain scenes: the base models learn from them (synthetic scenes, or other machines);
* none given as pretrain: the base models learn from the devices' own training footage.

Scene lists live in the base ``pipeline:`` section only (DVC reads the base values), so the same
keys are removed from every profile overlay; ``synth.scenes`` is emptied when the data folder is not
the synthetic one, so that `dvc repro` does not generate data nobody reads.
"""

from __future__ import annotations

from pathlib import Path

from ..data.layout import list_scenes
from ..errors import ConfigError, DataError
from ..io_utils import atomic_path
from ..method_index import STAGE_ITEMS, write_stage_items
from .layout import SCENE_NAME

SCENE_KEYS = ("scenes", "pretrain_scenes", "devices", "pretrain_data")


def plan_roles(root: str | Path, devices: list[str] | None, pretrain: list[str] | None) -> dict:
    """Scene roles for the data folder `root`: devices default to every scene not named as pretrain."""
    root = Path(root)
    found = list_scenes(root) if root.is_dir() else []
    if not found:
        raise DataError(root, "no scenes (expected <root>/<scene>/training/frames/...; import footage first)")
    pretrain = list(pretrain or [])
    devices = list(devices) if devices else [s for s in found if s not in pretrain]
    unknown = sorted(set(devices + pretrain) - set(found))
    if unknown:
        raise DataError(root, f"scenes {unknown} are not in the data folder (it has {found})")
    both = sorted(set(devices) & set(pretrain))
    if both:
        raise ConfigError(f"scenes {both} are both devices and pretrain scenes")
    bad = [s for s in devices + pretrain if not SCENE_NAME.match(s)]
    if bad:
        raise ConfigError(
            f"scene names {bad}: rename the folders to letters, digits, '.', '_' and '-' "
            "(they become DVC stage names, paths and registry names)"
        )
    if not devices:
        raise ConfigError("no devices: name at least one scene to adapt with --devices")
    return {
        "scenes": pretrain + devices,
        "pretrain_scenes": pretrain,
        "devices": devices,
        "pretrain_data": "pretrain" if pretrain else "devices",
    }


def write_roles(
    params_path: str | Path, root: str | Path, roles: dict, synthetic_root: str = "data/synth"
) -> list[str]:
    """Write `roles` and ``data.root`` into params.yaml (comments kept); returns what changed."""
    from ruamel.yaml import YAML

    params_path = Path(params_path)
    yaml = YAML()  # round-trip: comments and key order survive
    yaml.preserve_quotes = True
    doc = yaml.load(params_path.read_text())
    changes = []
    if str(doc["data"]["root"]) != str(root):
        changes.append(f"data.root: {doc['data']['root']} -> {root}")
        doc["data"]["root"] = str(root)
    for key in SCENE_KEYS:
        if doc["pipeline"].get(key) != roles[key]:
            changes.append(
                f"pipeline.{key}: {list(doc['pipeline'].get(key) or []) if key != 'pretrain_data' else doc['pipeline'].get(key)} -> {roles[key]}"
            )
        doc["pipeline"][key] = roles[key]
    for name, overlay in (doc.get("profiles") or {}).items():
        pipe = (overlay or {}).get("pipeline") or {}
        for key in SCENE_KEYS:
            if key in pipe:
                del pipe[key]
                changes.append(f"profiles.{name}.pipeline.{key}: removed (scene lists live in the base section)")
        if overlay and "pipeline" in overlay and not overlay["pipeline"]:
            del overlay["pipeline"]
    if Path(root).resolve() != Path(synthetic_root).resolve() and doc["synth"].get("scenes"):
        changes.append("synth.scenes: -> [] (the data folder is not the synthetic one)")
        doc["synth"]["scenes"] = []
    with atomic_path(params_path) as tmp, open(tmp, "w") as f:
        yaml.dump(doc, f)
    if params_path.with_name(STAGE_ITEMS).is_file():  # dvc.yaml's per-method stages over the new devices
        write_stage_items(params_path)
    return changes
