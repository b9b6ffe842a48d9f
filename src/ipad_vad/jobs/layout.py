"""Where the pipeline keeps each scene's prepared data and each method's models.

Prepared data is grouped by the scene's role, so that DVC stages can depend on exactly the data
they use (DVC cannot take a list parameter as dependencies):

    data/prepared/pretrain/{cache,flow,periods}/<scene>     pretrain scenes (synthetic; one stage for all)
    data/prepared/pretrain/scenes.json                      their cycles
    data/prepared/devices/{cache,flow,periods}/<scene>      devices (adapted, registered)
    models/base/<method>/                                   model.pt, method.json
    models/adapters/<device>/<method>/                      method.json + adapter/ (lora) or model.pt
    eval/pretrain/<method>/<scene>/                         a pretrain scene scored by a method's base
    eval/devices/<device>/<method>/                         a device scored by the adapted method
                                                            (+ calibration.json: its alert threshold)

One DVC stage per method (pretrain, evaluation of the pretrain scenes) and per method and device
(adaptation, evaluation), so changing one method reruns only its stages.

A dataset without pretraining scenes (``pipeline.pretrain_scenes: []``) pretrains on the devices'
training footage; the pretrain stage then depends on ``data/prepared/devices``
(``pipeline.pretrain_data: devices``).
"""

from __future__ import annotations

from pathlib import Path

from ..data.layout import SCENE_NAME  # noqa: F401  (scene_roles and the checks below use it)
from ..errors import ConfigError


def check(params: dict) -> None:
    pipe = params["pipeline"]
    scenes, pre, dev = list(pipe["scenes"]), list(pipe["pretrain_scenes"]), list(pipe["devices"])
    if sorted(scenes) != sorted(pre + dev) or set(pre) & set(dev):
        raise ConfigError(
            "pipeline.scenes must be exactly pipeline.pretrain_scenes + pipeline.devices "
            f"(got scenes={scenes}, pretrain_scenes={pre}, devices={dev})"
        )
    bad = [s for s in scenes if not SCENE_NAME.match(str(s))]
    if bad:
        raise ConfigError(
            f"scene names {bad}: use letters, digits, '.', '_' and '-' (they become DVC stage names, "
            "paths and registry names)"
        )
    want = "pretrain" if pre else "devices"
    if pipe["pretrain_data"] != want:
        raise ConfigError(
            f"pipeline.pretrain_data must be {want!r} when pipeline.pretrain_scenes is "
            f"{'non-empty' if pre else 'empty'} (got {pipe['pretrain_data']!r}); "
            "`ipad data scenes` writes both consistently"
        )
    if not (pre or dev):
        raise ConfigError("pipeline: no scenes (set pipeline.devices, or run `ipad data scenes`)")


def pretrain_scenes(params: dict) -> list[str]:
    """The scenes the base models learn from: the pretrain scenes, or, in a dataset without any, the
    devices' own training footage."""
    pipe = params["pipeline"]
    return list(pipe["pretrain_scenes"]) or list(pipe["devices"])


def role(params: dict, scene: str) -> str:
    pipe = params["pipeline"]
    if scene in pipe["devices"]:
        return "devices"
    if scene in pipe["pretrain_scenes"]:
        return "pretrain"
    raise ConfigError(f"scene {scene!r} is neither in pipeline.pretrain_scenes nor in pipeline.devices")


def prepared(params: dict, scene: str, kind: str) -> Path:
    """Root (containing <scene>/) of the `kind` ('cache', 'flow', 'periods') data of a scene."""
    return Path(params["pipeline"]["prepared_root"]) / role(params, scene) / kind


def prepared_summary(params: dict, role: str) -> Path:
    """The summary of a role's prepared scenes (their cycles), written whether or not it has any."""
    return Path(params["pipeline"]["prepared_root"]) / role / "scenes.json"


def base_dir(params: dict, method: str) -> Path:
    return Path(params["pipeline"]["models_root"]) / "base" / method


def adapter_dir(params: dict, method: str, device: str) -> Path:
    return Path(params["pipeline"]["models_root"]) / "adapters" / device / method


def eval_dir(params: dict, scene: str, method: str) -> Path:
    """Where a method's evaluation of a scene goes (by the scene's role, see above)."""
    root = Path(params["pipeline"]["eval_root"])
    if role(params, scene) == "devices":
        return root / "devices" / scene / method
    return root / "pretrain" / method / scene
