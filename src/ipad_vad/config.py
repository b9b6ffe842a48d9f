"""params.yaml with profiles.

`params.yaml` holds every setting. Its `profiles:` section holds overlays (`smoke`, `demo`,
`paper`); the active one is `profile:` (or the ``IPAD_PROFILE`` environment variable, or an
explicit argument) and is deep-merged over the base sections. DVC cannot merge overlays: dvc.yaml's
first stage writes the resolved tree to params.resolved.yaml and every stage lists its params from
there; inside `dvc repro` only the file's own profile is accepted (params_resolve.py).
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

DEFAULT_PARAMS = Path("params.yaml")


def deep_merge(base: dict, overlay: dict) -> dict:
    """Return `base` with `overlay` merged in (dicts recursively, everything else replaced)."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_params(path: str | Path = DEFAULT_PARAMS, profile: str | None = None) -> dict[str, Any]:
    """Load params.yaml and resolve the profile overlay. The result has no `profiles` key and has every
    key of the schema (params_schema.py), those the file leaves out with their defaults: a reader never
    needs a default of its own."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: params file not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: not a params file (a mapping of sections expected)")
    profiles = raw.pop("profiles", {}) or {}
    from .params_schema import check_params, with_defaults

    check_params(raw, str(path))  # before any work starts: every profile too, not only the active one
    for pname, overlay in profiles.items():
        check_params(deep_merge(raw, overlay or {}), f"{path} (profile {pname})")
    name = profile or os.environ.get("IPAD_PROFILE") or raw.get("profile")
    from .params_resolve import check_inside_dvc

    check_inside_dvc(path, name, raw.get("profile"))  # inside `dvc repro`: only what dvc.lock records (issue 28)
    if name:
        if name not in profiles:
            raise ConfigError(f"{path}: unknown profile {name!r}; known: {sorted(profiles)}")
        raw = deep_merge(raw, profiles[name])
    raw["profile"] = name
    return with_defaults(raw)


def load_settings(path: str | Path = DEFAULT_PARAMS, profile: str | None = None):
    """``load_params`` as the typed tree (``params_schema.Params``: attributes, defaults filled),
    loaded and checked once per process for each file content and profile (a frozen tree: share it)."""
    path = Path(path)
    key = (str(path.resolve()), path.read_bytes() if path.is_file() else b"", profile or os.environ.get("IPAD_PROFILE"))
    return _settings(*key)


@functools.lru_cache(maxsize=8)
def _settings(path: str, _content: bytes, profile: str | None):
    from .params_schema import settings_of

    return settings_of(load_params(path, profile), path)


def section(params: dict, key: str) -> dict:
    try:
        return params[key]
    except KeyError:
        raise ConfigError(f"params: missing section {key!r}") from None
