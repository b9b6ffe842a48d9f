"""Masks of spatial pseudo-anomalies (seed 002 §3.2): which pixels of a clip's frames are replaced.

The paper follows LaMa's mask generation: random free-form masks and object segmentation masks. No
segmentation network can be downloaded here; in a fixed-camera scene the parts that matter are the
ones that move, so the *shape-following* mask is the moving part's shape, frame by frame: the pixels
that differ from the clip's temporal median by more than ``motion_threshold``, within a box around a
moving pixel of the centre frame (so the mask follows one part, not every moving thing at once).

Every mask is a boolean array (T, H, W): True = replaced. Pure functions of their inputs and the
generator ``rng``, so the same seed gives the same mask.
"""

from __future__ import annotations

import cv2
import numpy as np

from .settings import PseudoSettings


def random_mask(shape: tuple[int, int], rng: np.random.Generator, area: tuple[float, float]) -> np.ndarray:
    """A LaMa-style free-form mask (H, W): a few thick random strokes and an ellipse, grown until it
    covers a share of the frame drawn from `area`."""
    h, w = shape
    target = rng.uniform(*area) * h * w
    mask = np.zeros((h, w), np.uint8)
    cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
    axes = (max(1, int(rng.uniform(0.05, 0.2) * w)), max(1, int(rng.uniform(0.05, 0.2) * h)))
    cv2.ellipse(mask, (int(cx), int(cy)), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    thickness = max(1, int(round(min(h, w) * 0.06)))
    y, x = cy, cx
    for _ in range(64):  # strokes from the ellipse outwards until the share is reached
        if mask.sum() >= target:
            break
        angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(0.05, 0.25) * min(h, w)
        ny, nx = np.clip(y + length * np.sin(angle), 0, h - 1), np.clip(x + length * np.cos(angle), 0, w - 1)
        cv2.line(mask, (int(x), int(y)), (int(nx), int(ny)), 1, thickness)
        y, x = ny, nx
    return mask.astype(bool)


def moving_pixels(frames: np.ndarray, threshold: float) -> np.ndarray:
    """(T, H, W) True where frame t differs from the clip's per-pixel temporal median by more than
    `threshold` (0-255, the largest channel difference) - the parts that move in the clip."""
    median = np.median(frames.astype(np.float32), axis=0)
    return (np.abs(frames.astype(np.float32) - median).max(-1)) > threshold


def motion_mask(frames: np.ndarray, rng: np.random.Generator, s: PseudoSettings) -> np.ndarray | None:
    """The shape-following mask (T, H, W) of one moving part of clip `frames` (T, H, W, 3) uint8, or
    None where too little of the clip moves (the caller then takes a random mask)."""
    t, h, w = frames.shape[:3]
    moving = moving_pixels(frames, s.motion_threshold)
    ys, xs = np.nonzero(moving[t // 2])
    if len(ys) == 0:
        return None
    k = rng.integers(len(ys))
    bh, bw = max(2, int(s.motion_box * h)), max(2, int(s.motion_box * w))
    y0, x0 = int(np.clip(ys[k] - bh // 2, 0, h - bh)), int(np.clip(xs[k] - bw // 2, 0, w - bw))
    box = np.zeros((h, w), bool)
    box[y0 : y0 + bh, x0 : x0 + bw] = True
    kernel = np.ones((3, 3), np.uint8)  # close the part's outline: its edges and the gaps inside it
    mask = np.stack([cv2.dilate(m.astype(np.uint8), kernel).astype(bool) & box for m in moving])
    if mask[t // 2].sum() < s.motion_min_pixels:
        return None
    return mask


def pa_mask(frames: np.ndarray, rng: np.random.Generator, s: PseudoSettings) -> np.ndarray:
    """The mask (T, H, W) of a spatial PA of clip `frames` (T, H, W, 3) as ``s.mask`` says: random (the
    same region in every frame), motion (a moving part's shape; random where nothing moves) or mixed
    (each half of the time)."""
    kind = s.mask if s.mask != "mixed" else ("motion" if rng.random() < 0.5 else "random")
    if kind == "motion":
        m = motion_mask(frames, rng, s)
        if m is not None:
            return m
    t, h, w = frames.shape[:3]
    return np.broadcast_to(random_mask((h, w), rng, s.mask_area), (t, h, w)).copy()
