"""The cameras of `ipad serve CONFIG.yaml`::

    serve: {port: 9108, out: serve}        # optional: overrides params.yaml's serve: section
    cameras:
      - {name: press-1, device: R01, source: /mnt/cams/press-1/}         # a filling frame folder
      - {name: press-2, device: R01, source: /mnt/cams/press-2.mkv}      # a growing video file
      - {name: lathe-1, device: R02, source: "rtsp://127.0.0.1:8554/l1", fps: 25}   # a URL the video reader opens

Every problem is one line naming the file and the camera: an unknown key, a duplicate name, a source
that cannot be reached (a path whose folder does not exist, a URL that does not open). Unknown devices
and devices without a champion are named when the champions load (``server.load_models``). Through the
Python API a camera's frames may also be any iterator of RGB uint8 frames (``Server(frames=...)``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import ConfigError
from ..params_schema import validate_section
from .settings import ServeSettings

URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


class CameraConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]  # also the stem of its output files
    device: str  # its champion scores it: ipad-vad-<device>@champion
    source: str = ""  # a frame folder, a video file, or a URL; "" for a camera fed through the Python API
    fps: Annotated[float, Field(gt=0)] | None = None  # for seconds in the events (a folder has no fps of its own)


class ServeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    serve: dict[str, Any] | None = None
    cameras: Annotated[list[CameraConfig], Field(min_length=1)]

    @field_validator("cameras")
    @classmethod
    def _unique(cls, v):
        seen = set()
        for c in v:
            if c.name in seen:
                raise ValueError(f"duplicate camera name {c.name!r}")
            seen.add(c.name)
        return v


def load_config(
    path: str | Path, params: dict | None = None, check_sources: bool = True, api_cameras: tuple[str, ...] = ()
) -> tuple[ServeConfig, ServeSettings]:
    """The config file's cameras and the serve settings (params' ``serve:``, then the file's)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as e:
        raise ConfigError(f"{path}: cannot read serve config: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with `cameras:` (a list of name, device, source)")
    return check_config(raw, str(path), params, check_sources, api_cameras)


def check_config(
    raw: dict, where: str, params: dict | None = None, check_sources: bool = True, api_cameras: tuple[str, ...] = ()
) -> tuple[ServeConfig, ServeSettings]:
    cfg = validate_section(ServeConfig, raw, where)
    merged = {**((params or {}).get("serve") or {}), **(cfg.serve or {})}
    settings = validate_section(ServeSettings, merged, where, "serve")
    for c in cfg.cameras:
        if not c.source and c.name not in api_cameras:
            raise ConfigError(f"{where}: camera {c.name!r} has no source (a frame folder, a video file or a URL)")
        if c.source and check_sources:
            problem = source_problem(c.source, settings.open_timeout_s)
            if problem:
                raise ConfigError(f"{where}: camera {c.name!r}: source {c.source} is unreachable: {problem}")
    return cfg, settings


def source_problem(source: str, open_timeout_s: float) -> str | None:
    """Why `source` cannot be read at all, or None. A file or folder may not exist yet (a camera that
    starts writing later), but its folder must."""
    if URL.match(source):
        import cv2

        cap = cv2.VideoCapture()
        ok = cap.open(source, cv2.CAP_ANY, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout_s * 1000)])
        cap.release()
        return None if ok else f"the video reader cannot open it within {open_timeout_s:g} s"
    p = Path(source)
    if p.exists() or p.parent.is_dir():
        return None
    return f"no such file or folder, and its folder {p.parent} does not exist"
