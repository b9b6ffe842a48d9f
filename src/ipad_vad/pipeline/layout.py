"""Where the pipeline keeps each scene's prepared data and each method's models.

Prepared data is grouped by the scene's role, so that DVC stages can depend on exactly the data
they use (DVC cannot take a list parameter as dependencies):

    data/prepared/pretrain/{cache,flow,periods}/<scene>     pretrain scenes (synthetic)
    data/prepared/devices/{cache,flow,periods}/<scene>      devices (adapted, registered)
    models/base/<method>/                                   model.pt, train.json
    models/adapters/<device>/<method>/                      adapter/, ipad_adapter.json
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError


def check(params: dict) -> None:
    pipe = params["pipeline"]
    scenes, pre, dev = list(pipe["scenes"]), list(pipe["pretrain_scenes"]), list(pipe["devices"])
    if sorted(scenes) != sorted(pre + dev) or set(pre) & set(dev):
        raise ConfigError("pipeline.scenes must be exactly pipeline.pretrain_scenes + pipeline.devices "
                          f"(got scenes={scenes}, pretrain_scenes={pre}, devices={dev})")


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


def base_dir(params: dict, method: str) -> Path:
    return Path(params["pipeline"]["models_root"]) / "base" / method


def adapter_dir(params: dict, method: str, device: str) -> Path:
    return Path(params["pipeline"]["models_root"]) / "adapters" / device / method
