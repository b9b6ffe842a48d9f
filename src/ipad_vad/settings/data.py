"""``data:``: which footage (an IPAD-layout folder) and where its validated manifest goes."""

from __future__ import annotations

from ._base import JpegQuality, Scenes, Section


class Data(Section):
    root: str = "data/ipad"  # the IPAD-layout data folder (data/synth: the generator's)
    manifest: str = "data/manifest.parquet"  # the validated manifest every later stage reads
    manifests: str = "data/manifests"  # the same, one file per scene
    scenes: Scenes = []  # restrict to these scenes; empty: every scene of root
    jpeg_quality: JpegQuality = 95  # frames written by `ipad data import` from video files
