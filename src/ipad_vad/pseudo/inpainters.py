"""Inpainters of spatial pseudo-anomalies (seed 002 eq. 2): P_s(x) = F_s(stack(x, x * m, m)).

The paper's F_s is a pretrained latent diffusion model (LDM), whose weights cannot be fetched here,
so F_s is pluggable. An inpainter is a callable ``(frames (T, H, W, 3) uint8, mask (T, H, W) bool,
rng, donor (T, H, W, 3) uint8 or None) -> frames`` registered under a name
(``pseudo_anomalies.inpainter``):

* ``opencv``: Telea's fast marching inpainting (``cv2.inpaint``) of each frame - the region filled
  from its surroundings: a part or a mark disappears, a surface gets a smear;
* ``patch``: the region replaced by the same region of another normal clip (`donor`, another clip
  of the batch) moved by at least ``patch_min_shift`` of the frame: normal content in the wrong place;
* ``diffusion``: the paper's LDM, from a **local** diffusers inpainting pipeline folder
  (``diffusion_checkpoint``, e.g. a saved ``StableDiffusionInpaintPipeline``; ``pip install diffusers``);
  nothing is downloaded.

Add another with ``@register("name")`` on a factory ``(settings) -> inpainter``. Whatever the inpainter
returns, only the masked pixels are taken from it (``spatial.spatial_pa``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from ..errors import ConfigError
from .settings import PseudoSettings

Inpainter = Callable[[np.ndarray, np.ndarray, np.random.Generator, "np.ndarray | None"], np.ndarray]
_FACTORIES: dict[str, Callable[[PseudoSettings], Inpainter]] = {}


def register(name: str):
    def deco(factory: Callable[[PseudoSettings], Inpainter]):
        _FACTORIES[name] = factory
        return factory

    return deco


def get_inpainter(s: PseudoSettings) -> Inpainter:
    if s.inpainter not in _FACTORIES:
        raise ConfigError(f"pseudo_anomalies.inpainter: unknown inpainter {s.inpainter!r}; known: {sorted(_FACTORIES)}")
    return _FACTORIES[s.inpainter](s)


@register("opencv")
def opencv_inpainter(s: PseudoSettings) -> Inpainter:
    def inpaint(frames, mask, rng, donor=None):
        return np.stack(
            [
                cv2.inpaint(np.ascontiguousarray(f), m.astype(np.uint8), s.inpaint_radius, cv2.INPAINT_TELEA)
                if m.any()
                else f
                for f, m in zip(frames, mask)
            ]
        )

    return inpaint


@register("patch")
def patch_inpainter(s: PseudoSettings) -> Inpainter:
    def inpaint(frames, mask, rng, donor=None):
        src = frames if donor is None else donor
        h, w = frames.shape[1:3]
        lo_y, lo_x = max(1, int(s.patch_min_shift * h)), max(1, int(s.patch_min_shift * w))
        dy = int(rng.integers(lo_y, max(lo_y + 1, h - lo_y + 1))) * int(rng.choice([-1, 1]))
        dx = int(rng.integers(lo_x, max(lo_x + 1, w - lo_x + 1))) * int(rng.choice([-1, 1]))
        return np.roll(src, (dy, dx), axis=(1, 2))  # the donor's content from (y - dy, x - dx)

    return inpaint


@register("diffusion")
def diffusion_inpainter(s: PseudoSettings) -> Inpainter:
    """The paper's LDM inpainter from a local diffusers pipeline folder (the hook for user weights)."""
    path = Path(s.diffusion_checkpoint) if s.diffusion_checkpoint else None
    if path is None or not path.is_dir():
        raise ConfigError(
            f"pseudo_anomalies.diffusion_checkpoint: the diffusion inpainter needs a local diffusers "
            f"inpainting pipeline folder (weights are never downloaded), got {s.diffusion_checkpoint!r}"
        )
    try:
        import torch
        from diffusers import AutoPipelineForInpainting
    except ImportError:
        raise ConfigError(
            "pseudo_anomalies.inpainter: diffusion needs the diffusers package "
            "(pip install diffusers); or choose opencv or patch"
        ) from None
    from PIL import Image

    device = "cuda" if torch.cuda.is_available() else "cpu"
    pipe = AutoPipelineForInpainting.from_pretrained(path, local_files_only=True).to(device)
    pipe.set_progress_bar_config(disable=True)

    def inpaint(frames, mask, rng, donor=None):
        h, w = frames.shape[1:3]
        gen = torch.Generator(device).manual_seed(int(rng.integers(2**31)))
        out = []
        for f, m in zip(frames, mask):
            if not m.any():
                out.append(f)
                continue
            img = pipe(
                prompt="", image=Image.fromarray(f), mask_image=Image.fromarray(m.astype(np.uint8) * 255), generator=gen
            ).images[0]
            out.append(np.asarray(img.convert("RGB").resize((w, h), Image.BILINEAR)))
        return np.stack(out)

    return inpaint
