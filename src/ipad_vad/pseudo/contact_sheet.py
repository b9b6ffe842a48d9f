"""`ipad data preview --pseudo`: pseudo-anomalies next to their normal source, per scene - the centre
frame of a training clip, spatial PAs of it (a moving part's shape and a random mask, inpainted as
``pseudo_anomalies`` says, the mask's outline in the caption's colour), the magnitude of its optical
flow and of a flow-mixup PA of it, and a frame-order PA's frame sequence."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..data.frames import JpegFolderSource, resize_frame
from ..data.layout import list_scenes, scan_ipad
from ..data.synth.preview import tile_sheet
from ..preprocess.optical_flow import clip_flow
from .inpainters import get_inpainter
from .settings import PseudoSettings
from .spatial import spatial_pa
from .temporal import flow_mixup, frame_order_pa

OUTLINE = (255, 0, 255)


def _outlined(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = frame.copy()
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, OUTLINE, 1)
    return out


def pseudo_sheet(
    root: str | Path, out: str | Path, params: dict, scenes: list[str] | None = None, seed: int = 0
) -> Path:
    root = Path(root)
    s = PseudoSettings.from_params(params)
    clip_len, size = int(params["clip"]["length"]), tuple(params["clip"]["size"])
    flow = params["optical_flow"]
    inpainter = get_inpainter(s)
    rng = np.random.default_rng(seed)
    rows = []
    for scene in scenes or list_scenes(root):
        train = [e for e in scan_ipad(root, [scene]) if e.split == "training"]
        if not train:
            continue
        src = JpegFolderSource(train[0].frames_dir)
        start = int(rng.integers(0, max(1, len(src) - clip_len)))
        frames = np.stack([resize_frame(f, size) for f in src.read(range(start, min(len(src), start + clip_len)))])
        c = len(frames) // 2
        tiles = [(frames[c], f"normal ({train[0].video}:{start + c})", "black")]
        for kind in ("motion", "random"):
            pa, mask = spatial_pa(frames, rng, s.model_copy(update={"mask": kind}), inpainter)
            tiles.append((_outlined(pa[c], mask[c]), f"spatial PA, {kind} mask", "crimson"))
        f = clip_flow(frames, flow["method"], tuple(flow["size"]))
        mixed, box = flow_mixup(f, rng, s)
        mag = lambda x, c=c: np.sqrt((x[c - 1] ** 2).sum(-1))  # noqa: E731 - the flow into the centre frame
        vmax = max(mag(f).max(), mag(mixed).max(), 1e-6)
        tiles.append((mag(f) / vmax, "flow |phi| (normal)", "black"))
        tiles.append((mag(mixed) / vmax, "flow mixup PA", "crimson"))
        kind, idx = frame_order_pa(len(frames), rng, s)
        tiles.append(
            (
                np.concatenate([frames[i] for i in idx[c - 2 : c + 3]], 1),
                f"{kind}: frames {', '.join(str(int(i) - c) for i in idx[c - 2 : c + 3])}",
                "crimson",
            )
        )
        rows.append((scene, tiles))
    if not rows:
        raise ValueError(f"{root}: no scene with training footage")
    return tile_sheet(
        rows, f"{root}: pseudo-anomalies (red) next to their normal source (inpainter: {s.inpainter})", out
    )
