"""Learned features in a memory bank (issue 25, item 3): a small convolutional frame encoder whose
feature maps are matched against a bank of normal clips by the reference detector's own machinery
(``KnnReference``: nearest clips, worst-cell residual, local offsets, shift alignment, per-recording
provenance), plus the self-supervised objective that trains the encoder on normal footage.

Encoder (``FrameEncoder``): each frame is brightness-normalised (zero mean, unit std over its pixels
and channels, as the reference's descriptor: a global gain or offset drops out before any weight
sees it), then ``widths`` 3x3 convolutions with GELU, each of stride 2 but the last, and a 1x1
projection to ``channels``; every cell's feature vector is L2-normalised. At 64 x 64 frames and
widths [16, 32, 32] the map is 16 x 16 x channels: one cell per 4 x 4 pixels. No BatchNorm (a LoRA
adapter then carries everything a device changes, and scoring does not depend on the batch).

A clip's descriptor is the feature maps of ``frames`` frames evenly spaced over it, flattened:
the layout ``KnnReference`` matches (``FeatureLayout``: frames x channels x h x w).

Objective (``invariance_loss``): two views of the same normal frames that differ only by nuisances
the camera produces on normal footage (``nuisance_view``: a global gain and colour cast, a smooth
light field, a shift of up to ``shift`` pixels, blur and sensor noise) must give the same feature in
every cell, and a different feature from every other cell of the batch (other places of the frame,
other frames and phases of the cycle): InfoNCE over feature-map cells with temperature ``tau``
(Wang et al.'s dense contrastive learning, DenseCL, at one scale). Cells whose clean pixels are
nearly identical (a flat background seen twice) are not negatives of each other
(``same_content``: RMS of their normalised pixel blocks below it), so the loss does not have to tell
equal content apart. A small decoder reconstructs the clean (normalised, shifted) frame from the
features of the nuisance view (``recon``: weight of its MSE), so that the features keep the detail
of a part: a changed part must still move its cell's feature.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .knn_reference import KnnReference


def normalise_frames(x: torch.Tensor) -> torch.Tensor:
    """Each frame (N, 3, H, W) to zero mean and unit standard deviation over its pixels and channels."""
    dims = (1, 2, 3)
    return (x - x.mean(dims, keepdim=True)) / x.std(dims, keepdim=True).clamp_min(1e-3)


class FrameEncoder(nn.Module):
    """Frames (N, 3, H, W) in [-1, 1] -> unit feature vectors per cell (N, channels, H / 2^(L-1), W / 2^(L-1))."""

    def __init__(self, widths: tuple[int, ...] = (16, 32, 32), channels: int = 16):
        super().__init__()
        layers, c_in = {}, 3
        for i, w in enumerate(widths):  # named conv<i> / act<i>: LoRA targets the convolutions by name
            layers[f"conv{i}"] = nn.Conv2d(c_in, w, 3, stride=1 if i == len(widths) - 1 else 2, padding=1)
            layers[f"act{i}"] = nn.GELU()
            c_in = w
        self.convs = nn.Sequential(OrderedDict(layers))
        self.proj = nn.Conv2d(c_in, channels, 1)
        self.stride = 2 ** (len(widths) - 1)
        self.channels = int(channels)

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.convs(normalise_frames(x.float())))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.raw(x), dim=1)


class FrameDecoder(nn.Module):
    """Features (N, C, h, w) -> the normalised frame (N, 3, h * stride, w * stride); used only in training."""

    def __init__(self, channels: int, width: int, stride: int):
        super().__init__()
        self.stride = stride
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.GELU(), nn.Conv2d(width, 3 * stride * stride, 1)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.body(z), self.stride)


class FeatureLayout(nn.Module):
    """What ``KnnReference`` needs to know of a descriptor: frames x channels x size (no weights)."""

    def __init__(self, frames: int, channels: int, size: tuple[int, int]):
        super().__init__()
        self.frames, self.channels, self.size = int(frames), int(channels), tuple(int(s) for s in size)

    @property
    def dim(self) -> int:
        return self.frames * self.channels * self.size[0] * self.size[1]


class FeatureBank(nn.Module):
    """Encoder + training decoder + the reference matcher over feature maps (``matcher`` holds the bank)."""

    def __init__(
        self,
        frame_size: tuple[int, int],
        frames: int = 9,
        widths: tuple[int, ...] = (16, 32, 32),
        channels: int = 16,
        decoder_width: int = 32,
        bank_size: int = 0,
        **matcher,
    ):
        super().__init__()
        self.encoder = FrameEncoder(widths, channels)
        s = self.encoder.stride
        if frame_size[0] % s or frame_size[1] % s:
            raise ValueError(
                f"the frame size {tuple(frame_size)} must be divisible by the encoder's stride {s} "
                f"({len(widths)} widths)"
            )
        self.decoder = FrameDecoder(channels, decoder_width, s)
        layout = FeatureLayout(frames, channels, (frame_size[0] // s, frame_size[1] // s))
        self.matcher = KnnReference(descriptor=layout, bank_size=bank_size, **matcher)

    @property
    def frames(self) -> int:
        return self.matcher.descriptor.frames

    def frame_indices(self, T: int) -> torch.Tensor:
        """The clip frames the descriptor holds (evenly spaced, as the reference's)."""
        return torch.linspace(0, T - 1, self.frames).round().long()

    def descriptors(self, x: torch.Tensor, chunk: int = 512) -> torch.Tensor:
        """Clips (N, 3, T, H, W) -> descriptors (N, frames * channels * h * w)."""
        N, C, T, H, W = x.shape
        f = x.index_select(2, self.frame_indices(T).to(x.device)).transpose(1, 2).reshape(N * self.frames, C, H, W)
        z = torch.cat([self.encoder(f[i : i + chunk]) for i in range(0, len(f), chunk)])
        return z.reshape(N, -1)

    def forward(self, x: torch.Tensor) -> dict:
        return {"distance": active(self.matcher).score_descriptors(self.descriptors(x))}


def active(module: nn.Module) -> nn.Module:
    """The module itself, or the active copy when peft wraps it as a module to save (during LoRA)."""
    copies = getattr(module, "modules_to_save", None)
    if isinstance(copies, nn.ModuleDict) and len(copies):
        name = module.active_adapter
        return copies[name if isinstance(name, str) else name[0]]
    return module


# -- the self-supervised objective ----------------------------------------------------------------


@dataclass(frozen=True)
class Nuisances:
    """How far the two views of a frame differ (each drawn per view and image)."""

    gain: float = 0.3  # global brightness: x (exp N(0, gain))
    cast: float = 0.1  # per-channel colour cast: x (exp N(0, cast)) each channel
    field: float = 0.25  # a smooth light field: x (1 + field * a bilinear 3x3 random map in [-1, 1])
    shift: int = 1  # pixels of camera jitter, each direction
    blur: float = 0.5  # probability of a 3x3 blur
    noise: float = 0.04  # sensor noise: std up to this ([-1, 1] units)


def shifted(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Frames moved by (dy, dx) pixels, edges replicated."""
    if dy == 0 and dx == 0:
        return x
    H, W = x.shape[-2:]
    s = max(abs(dy), abs(dx))
    p = F.pad(x, (s, s, s, s), mode="replicate")
    return p[..., s - dy : s - dy + H, s - dx : s - dx + W]


def nuisance_view(x: torch.Tensor, n: Nuisances, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(the view, its clean target) of frames (B, 3, H, W) in [-1, 1]: the target is the frame moved as
    the view (the only geometric change), the view adds the photometric nuisances."""
    B, C, H, W = x.shape
    r = lambda *shape: torch.randn(*shape, generator=g).to(x.device)  # noqa: E731
    u = lambda *shape: torch.rand(*shape, generator=g).to(x.device)  # noqa: E731
    moves = (
        torch.randint(-n.shift, n.shift + 1, (B, 2), generator=g)
        if n.shift > 0
        else torch.zeros(B, 2, dtype=torch.long)
    )
    clean = torch.stack([shifted(x[i], int(moves[i, 0]), int(moves[i, 1])) for i in range(B)])
    y = (clean + 1) / 2
    y = y * torch.exp(r(B, 1, 1, 1) * n.gain) * torch.exp(r(B, C, 1, 1) * n.cast)
    light = F.interpolate(u(B, 1, 3, 3) * 2 - 1, size=(H, W), mode="bilinear", align_corners=True)
    y = y * (1 + n.field * light)
    if n.blur > 0:
        k = torch.tensor([1.0, 2.0, 1.0])
        k = (k[:, None] * k[None, :] / 16).expand(C, 1, 3, 3).to(x.device)
        blurred = F.conv2d(F.pad(y, (1, 1, 1, 1), mode="replicate"), k, groups=C)
        y = torch.where(u(B, 1, 1, 1) < n.blur, blurred, y)
    y = y * 2 - 1 + r(B, C, H, W) * u(B, 1, 1, 1) * n.noise
    return y, clean


def cell_blocks(x: torch.Tensor, stride: int) -> torch.Tensor:
    """The normalised pixels of every cell: (B, 3, H, W) -> (B * h * w, 3 * stride^2)."""
    b = F.unfold(normalise_frames(x), stride, stride=stride)  # B, 3 s^2, h w
    return b.transpose(1, 2).reshape(-1, b.shape[1])


def invariance_loss(
    model: FeatureBank,
    frames: torch.Tensor,
    n: Nuisances,
    g: torch.Generator,
    cells: int = 1024,
    tau: float = 0.1,
    same_content: float = 0.15,
    recon: float = 1.0,
) -> tuple[torch.Tensor, dict]:
    """InfoNCE over `cells` random feature-map cells of two nuisance views of `frames` (B, 3, H, W) +
    `recon` x the MSE of reconstructing each view's clean normalised frame (module docstring)."""
    enc = model.encoder
    v1, c1 = nuisance_view(frames, n, g)
    v2, c2 = nuisance_view(frames, n, g)
    r1, r2 = enc.raw(v1), enc.raw(v2)
    z1 = F.normalize(r1, dim=1).permute(0, 2, 3, 1).reshape(-1, enc.channels)
    z2 = F.normalize(r2, dim=1).permute(0, 2, 3, 1).reshape(-1, enc.channels)
    pick = torch.randperm(len(z1), generator=g)[:cells].to(z1.device)
    q, k = z1[pick], z2[pick]
    blocks = cell_blocks(c1, enc.stride)[pick.to(c1.device)]
    twins = torch.cdist(blocks, blocks) / blocks.shape[1] ** 0.5 < same_content  # equal content: no negative
    twins.fill_diagonal_(False)
    logits = (q @ k.T / tau).masked_fill(twins, float("-inf"))
    target = torch.arange(len(q), device=q.device)
    nce = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    mse = (
        F.mse_loss(model.decoder(F.normalize(r1, dim=1)), normalise_frames(c1))
        + F.mse_loss(model.decoder(F.normalize(r2, dim=1)), normalise_frames(c2))
    ) / 2
    with torch.no_grad():
        top1 = (logits.argmax(1) == target).float().mean()
    loss = nce + recon * mse
    return loss, {
        "loss": float(loss.detach()),
        "nce": float(nce.detach()),
        "recon": float(mse.detach()),
        "top1": float(top1),
    }
