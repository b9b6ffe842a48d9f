"""Side information: what is known about footage beyond its frames and labels, for a method that can
use it (issue 28). A method asks this interface, never a particular source of footage such as the
generator, so that footage without side information (a user's own camera) answers "none" through the
same call and the method falls back as it documents.

One kind today: **region captions**, what every drawn region of every frame shows (``local_patterns``
trains its image-text alignment on them). Only footage the synth stage generated has them: the
generator is deterministic, so the captions of a training video are remade from the settings it was
generated with (``<data root>/synth.json``, ``synth/captions.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError

if TYPE_CHECKING:  # the generator's modules load only for footage it made
    from .synth.captions import RegionCaption
    from .synth.generator import SynthConfig

SYNTH_SUMMARY = "synth.json"  # written by the generator beside the scenes it made


class SideInfo:
    """Footage without side information: every question is answered with None."""

    def region_captions(self, scene: str, split: str, video: str) -> list[list[RegionCaption]] | None:
        """Per frame of the video, the caption (box, action, appearance) of every drawn region; None if unknown."""
        return None


NO_SIDE_INFO = SideInfo()


class GeneratedFootage(SideInfo):
    """Footage made by the generator with `config`: captions of its training videos."""

    def __init__(self, config: SynthConfig):
        self.config = config

    def region_captions(self, scene: str, split: str, video: str) -> list[list[RegionCaption]] | None:
        cfg = self.config
        if scene not in cfg.scenes or split != "training" or not str(video).isdigit():
            return None  # a scene added by hand, or test footage: the generator did not plan it as a training video
        from .synth.captions import captions_for

        return captions_for(scene, int(video), cfg)


def side_info(data_root: str | Path) -> SideInfo:
    """The side information of the footage under `data_root`: ``GeneratedFootage`` where the synth stage
    wrote it (its ``synth.json``), ``NO_SIDE_INFO`` for any other footage."""
    path = Path(data_root) / SYNTH_SUMMARY
    if not path.is_file():
        return NO_SIDE_INFO
    try:
        config = json.loads(path.read_text())["config"]
    except (ValueError, KeyError, TypeError) as e:
        raise DataError(path, f"not a generator summary (no 'config' settings: {e!r})") from None
    from .synth.generator import SynthConfig

    return GeneratedFootage(SynthConfig.from_params(config))
