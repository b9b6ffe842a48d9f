"""Spatial pseudo-anomalies (seed 002 §3.2, eq. 2): a masked region of a normal clip inpainted.

``spatial_pa`` is a pure function of the clip, the generator ``rng`` and the settings: the same seed
gives the same PA, and only the masked pixels differ from the normal clip (bit-exact elsewhere)."""

from __future__ import annotations

import numpy as np

from .inpainters import Inpainter
from .masks import pa_mask
from .settings import PseudoSettings


def spatial_pa(
    frames: np.ndarray,
    rng: np.random.Generator,
    s: PseudoSettings,
    inpainter: Inpainter,
    donor: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(PA (T, H, W, 3) uint8, mask (T, H, W) bool) of clip `frames` (T, H, W, 3) uint8; `donor`: another
    normal clip the ``patch`` inpainter may take the region from."""
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"spatial_pa: frames (T, H, W, 3) uint8, got {frames.dtype} {frames.shape}")
    mask = pa_mask(frames, rng, s)
    filled = inpainter(frames, mask, rng, donor)
    return np.where(mask[..., None], filled, frames).astype(np.uint8), mask
