"""Normal nuisance (must not be flagged) and the real-domain shift of R01-R04.

Nuisance, on every scene (seed 000 §3.1: "lighting variations and viewpoint jitter as normal"):
  * lighting: slow global brightness drift, frame-to-frame flicker, a light spot wandering slowly;
  * camera jitter: a smoothed random walk of the whole image, about a pixel at 64x64.
Domain shift, on the real-domain scenes only: textured background (applied to the scenery), colour
cast, blur, sensor noise, stronger JPEG compression (at encoding) and a slight perspective change.

All per-frame randomness is drawn up front from the video's own stream, so rendering the same
video with and without anomalies gives identical nuisance (the tests rely on that).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...settings.synth import DomainShift, Nuisance

_N, _D = Nuisance.model_fields, DomainShift.model_fields  # synth.nuisance, synth.domain_shift: settings/synth.py


@dataclass(frozen=True)
class NuisanceConfig:
    light_drift: float = _N["light_drift"].default
    flicker: float = _N["flicker"].default
    spot: float = _N["spot"].default
    jitter: float = _N["jitter"].default


@dataclass(frozen=True)
class DomainShiftConfig:
    cast: tuple[float, float, float] = tuple(_D["cast"].default)  # RGB gains
    blur: float = _D["blur"].default
    noise: float = _D["noise"].default
    perspective: float = _D["perspective"].default
    texture: float = _D["texture"].default


class Nuisance:
    def __init__(
        self, h: int, w: int, n: int, rng: np.random.Generator, cfg: NuisanceConfig, shift: DomainShiftConfig | None
    ):
        self.h, self.w, self.cfg, self.shift = h, w, cfg, shift
        t = np.arange(n)
        period = rng.uniform(120, 400)
        self.gain = 1 + cfg.light_drift * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
        self.gain = self.gain + cfg.flicker * rng.standard_normal(n)
        # light spot: a slow Lissajous path
        a, b = rng.uniform(0, 2 * np.pi, 2)
        self.spot_xy = np.stack(
            [
                0.5 + 0.35 * np.sin(2 * np.pi * t / (period * 0.7) + a),
                0.4 + 0.3 * np.sin(2 * np.pi * t / (period * 1.3) + b),
            ],
            1,
        )
        walk = np.cumsum(rng.standard_normal((n, 2)), 0)
        walk = cv2.GaussianBlur(walk.astype(np.float32), (1, 9), 3).astype(np.float64)  # smooth in time
        walk -= walk.mean(0)
        walk /= max(walk.std(), 1e-6)
        self.jitter = walk * cfg.jitter * w
        self.noise_seeds = rng.integers(0, 2**31, n)
        yy, xx = np.mgrid[0:h, 0:w]
        self._grid = (xx / w, yy / h)
        self.persp = np.eye(3)
        if shift is not None:
            d = shift.perspective * w
            src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
            dst = src + rng.uniform(-d, d, (4, 2)).astype(np.float32)
            self.persp = cv2.getPerspectiveTransform(src, dst)

    def apply(self, f: int, img: np.ndarray) -> np.ndarray:
        x = img.astype(np.float32)
        m = np.array([[1, 0, self.jitter[f, 0]], [0, 1, self.jitter[f, 1]], [0, 0, 1]]) @ self.persp
        x = cv2.warpPerspective(x, m, (self.w, self.h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        x *= self.gain[f]
        sx, sy = self.spot_xy[f]
        gx, gy = self._grid
        x += (255 * self.cfg.spot * np.exp(-((gx - sx) ** 2 + (gy - sy) ** 2) / 0.03))[..., None].astype(np.float32)
        if self.shift is not None:
            x *= np.array(self.shift.cast, np.float32)
            sigma = self.shift.blur * self.w
            if sigma > 0.2:
                x = cv2.GaussianBlur(x, (0, 0), sigma)
            x += np.random.default_rng(int(self.noise_seeds[f])).normal(0, self.shift.noise, x.shape).astype(np.float32)
        return np.clip(x + 0.5, 0, 255).astype(np.uint8)


def texture_background(bg: np.ndarray, rng: np.random.Generator, contrast: float) -> np.ndarray:
    """Blend a fixed low-frequency texture and grain into the scenery (real-domain look)."""
    h, w = bg.shape[:2]
    low = cv2.resize(rng.standard_normal((6, 6)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    grain = rng.standard_normal((h, w)).astype(np.float32) * 0.5
    tex = 1 + contrast * (0.7 * low + 0.3 * grain)
    return np.clip(bg.astype(np.float32) * tex[..., None], 0, 255).astype(np.uint8)
