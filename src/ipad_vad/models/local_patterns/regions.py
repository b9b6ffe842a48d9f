"""Regions of a fixed camera where parts move, standing in for seed 003's region proposals (§3.1).

The paper crops the boxes of a pretrained region proposal network (RegionCLIP's), which cannot be
downloaded here. A fixed industrial camera sees its machine's parts move in the same places cycle
after cycle, so the places come from the optical flow of normal footage (the prepare stage's flow
function, ``preprocess/optical_flow.clip_flow``): the flow magnitude is averaged over the footage, pixels
above ``threshold`` x its maximum are moving, each connected component is a box, boxes that overlap
are merged with their neighbours (the paper combines overlapping objects), a box is made square on
its longest side and enlarged by 25 % along both dimensions (§3.1, fast-moving objects), clipped
to the frame - a box larger than ``max_side`` is first cut into tiles (``motion_regions``); the
``max_regions`` with the most motion are kept. ``grid_regions`` is the fallback
(``regions: grid``, or footage where nothing moves).
"""

from __future__ import annotations

import cv2
import numpy as np

from ...preprocess.optical_flow import clip_flow

Box = tuple[float, float, float, float]  # normalised x0, y0, x1, y1


def grid_regions(n: int) -> list[Box]:
    """An n x n grid over the frame."""
    return [(i / n, j / n, (i + 1) / n, (j + 1) / n) for j in range(n) for i in range(n)]


def overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def merge_overlapping(boxes: list[tuple[Box, float]]) -> list[tuple[Box, float]]:
    """(box, motion mass) pairs with every group of (transitively) overlapping boxes replaced by their union."""
    boxes = list(boxes)
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                (a, ma), (b, mb) = boxes[i], boxes[j]
                if overlaps(a, b):
                    boxes[i] = ((min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])), ma + mb)
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return boxes


def square_and_enlarge(box: Box, enlarge: float = 0.25, min_side: float = 0.0) -> Box:
    """A square on the box's longest side (at least `min_side`), enlarged by `enlarge`, kept inside [0, 1]."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = min(1.0, max(box[2] - box[0], box[3] - box[1], min_side) * (1 + enlarge))
    x0, y0 = min(max(cx - side / 2, 0.0), 1 - side), min(max(cy - side / 2, 0.0), 1 - side)
    return (x0, y0, x0 + side, y0 + side)


def tiles(box: Box, max_side: float) -> list[Box]:
    """`box` cut into the fewest equal tiles whose sides are at most `max_side`."""
    nx, ny = (max(1, int(np.ceil((box[2 + i] - box[i]) / max_side - 1e-9))) for i in (0, 1))
    w, h = (box[2] - box[0]) / nx, (box[3] - box[1]) / ny
    return [
        (box[0] + i * w, box[1] + j * h, box[0] + (i + 1) * w, box[1] + (j + 1) * h)
        for j in range(ny)
        for i in range(nx)
    ]


def motion_regions(
    magnitude: np.ndarray,
    threshold: float = 0.5,
    max_regions: int = 6,
    enlarge: float = 0.25,
    min_side: float = 0.2,
    max_side: float = 0.35,
) -> list[Box]:
    """Regions of a mean flow magnitude map (h, w) (module docstring); [] when nothing moves.

    A decision beyond the paper: a merged region wider or taller than `max_side` (a conveyor's band, a
    crane's travel) is cut into tiles of at most that side, each then squared and enlarged like a
    single object - squaring a band on its longest side would crop the whole frame and lose the local
    detail the method is about."""
    h, w = magnitude.shape
    if not np.isfinite(magnitude).all() or magnitude.max() <= 1e-6:
        return []
    mask = (magnitude > threshold * magnitude.max()).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    boxes = []
    for k in range(1, n):
        x, y, bw, bh = stats[k, :4]
        boxes.append(((x / w, y / h, (x + bw) / w, (y + bh) / h), float(magnitude[labels == k].sum())))
    out = []
    for box, _ in merge_overlapping(boxes):
        for b in tiles(box, max_side):
            ys, xs = (
                slice(int(b[1] * h), max(int(b[1] * h) + 1, int(np.ceil(b[3] * h)))),
                slice(int(b[0] * w), max(int(b[0] * w) + 1, int(np.ceil(b[2] * w)))),
            )
            out.append((square_and_enlarge(b, enlarge, min_side), float((magnitude * mask)[ys, xs].sum())))
    out.sort(key=lambda bm: -bm[1])
    return [b for b, _ in out[:max_regions]]


def mean_flow_magnitude(frames: np.ndarray, method: str = "dis", size: tuple[int, int] = (32, 32)) -> np.ndarray:
    """Mean optical-flow magnitude (h, w) over consecutive frames (T, H, W, 3) uint8."""
    flow = clip_flow(frames, method, size)
    return np.sqrt((flow.astype(np.float64) ** 2).sum(-1)).mean(0)
