"""PAs in a training batch (seed 002 §3.4): each clip is replaced by a PA with the method's
probabilities (``methods.<name>.pseudo_anomalies``: p_s spatial, p_t flow mixup, frame order), and the
model is trained to output the *normal* clip whatever it was fed (eq. 4, 5) - the caller keeps the
normal batch as the target.

Which clips become PAs, and how, is drawn from a numpy generator seeded from torch's generator
(``torch_rng``), which the trainer reseeds per epoch: a resumed run draws the same PAs as an
uninterrupted one.
"""

from __future__ import annotations

import numpy as np
import torch

from .inpainters import get_inpainter
from .settings import PseudoMix, PseudoSettings
from .spatial import spatial_pa
from .temporal import flow_mixup, frame_order_pa

NORMAL, SPATIAL, ORDER, TEMPORAL = 0, 1, 2, 3  # what each clip of a batch became


def torch_rng() -> np.random.Generator:
    return np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))


def to_uint8(clip: torch.Tensor) -> np.ndarray:
    """A clip (3, T, H, W) in [-1, 1] as frames (T, H, W, 3) uint8."""
    return ((clip.detach().float().cpu() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 3, 0).numpy()


class PseudoAnomalyMixer:
    """Replaces clips of a batch by PAs (the settings of how they are made, the method's mix)."""

    def __init__(self, settings: PseudoSettings, mix: PseudoMix):
        self.s, self.mix = settings, mix
        self.inpainter = get_inpainter(settings) if mix.spatial > 0 else None

    def frames(self, clips: torch.Tensor, rng: np.random.Generator) -> tuple[torch.Tensor, np.ndarray]:
        """(input clips, kind per clip) for normal clips (N, 3, T, H, W) in [-1, 1]: spatial PAs with
        probability p_s (the region of another clip of the batch for the ``patch`` inpainter), frame-order
        PAs with p_order, the rest unchanged. Unmasked pixels keep their exact values."""
        n = clips.shape[0]
        kinds = np.full(n, NORMAL)
        out = clips.clone()
        draw = rng.random(n)
        for i in range(n):
            if draw[i] < self.mix.spatial:
                frames = to_uint8(clips[i])
                donor = to_uint8(clips[(i + 1) % n]) if n > 1 else None
                pa, mask = spatial_pa(frames, rng, self.s, self.inpainter, donor)
                m = torch.from_numpy(mask).to(clips.device)[None]
                pa_t = torch.from_numpy(pa).to(clips.device).permute(3, 0, 1, 2).to(clips.dtype) / 127.5 - 1
                out[i] = torch.where(m, pa_t, clips[i])
                kinds[i] = SPATIAL
            elif draw[i] < self.mix.spatial + self.mix.order:
                _, idx = frame_order_pa(clips.shape[2], rng, self.s)
                out[i] = clips[i][:, torch.from_numpy(idx).to(clips.device)]
                kinds[i] = ORDER
        return out, kinds

    def flows(self, flows: torch.Tensor, rng: np.random.Generator) -> tuple[torch.Tensor, np.ndarray]:
        """(input flows, kind per clip) for flow fields (N, 2, T', h, w): flow mixup with probability p_t."""
        n = flows.shape[0]
        kinds = np.full(n, NORMAL)
        out = flows.clone()
        for i in np.flatnonzero(rng.random(n) < self.mix.temporal):
            f = flows[i].detach().float().cpu().permute(1, 2, 3, 0).numpy()  # (T', h, w, 2)
            pa, _ = flow_mixup(f, rng, self.s)
            out[i] = torch.from_numpy(pa).permute(3, 0, 1, 2).to(flows)
            kinds[i] = TEMPORAL
        return out, kinds
