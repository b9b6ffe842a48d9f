"""Seed 003's framework as one module: regions of a camera -> backbone + ITAM image attention ->
region features v_i(t) -> the SMM's prediction Δt ahead (and the normal region features), §3.1-3.3.

Data-sized buffers (set by the method's fit, sized from the state dict on load):

* ``cam_keys`` (K, D): one descriptor per camera it was fitted on (the mean of its standardised
  8 x 8 frames); a clip is scored with the regions of its nearest camera (the base model is fitted
  on all pretraining scenes at once and scores each of them; an adapted model has one camera);
* ``boxes`` (K, R, 4), ``valid`` (K, R): each camera's regions (``regions.py``), padded;
* ``bank`` (K, R, M, N) float16 with ``bank_valid`` (K, R, M): normal region features per region;
* ``tube_bank`` (K, R, M', L N) float16 with ``tube_bank_valid`` (K, R, M'): normal tubes per region, a
  tube the region's features over L consecutive frames, concatenated (M' = 0 in a model saved before
  tubes were kept: its ``tube_novelty`` is 0);
* ``pred_scale``, ``novelty_scale``, ``tube_scale`` (K, R): each region's mean error on normal footage,
  so that the max over regions compares like with like;
* ``feat_mean``, ``feat_std`` (N,): the standardisation of v on the training footage.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..shared_frames import shared_frames
from .backbone import Backbone
from .itam import ImageAttention, TextAttention
from .smm import PlainPredictor, StateMachine

KEY_SIZE = 8


@dataclass(frozen=True)
class LocalPatternsConfig:
    crop: int = 16
    widths: tuple[int, int] = (16, 32)
    visual: int = 32
    hidden: int = 32
    queries: int = 4
    embed: int = 16
    heads: int = 2
    itam: bool = True  # False: backbone tokens mean-pooled (ablation)
    smm: bool = True  # False: plain predictor (ablation)
    order: int = 4
    length: int = 5
    dt: int = 1
    channels: int = 8
    vocab: int = 2
    max_len: int = 8
    context: int = 2  # frames each side of the centre whose scores are averaged


def standardise(frames: torch.Tensor) -> torch.Tensor:
    """Each frame (..., 3, H, W) to zero mean, unit std over its pixels and channels (light drift drops out)."""
    dims = (-3, -2, -1)
    return (frames - frames.mean(dims, keepdim=True)) / frames.std(dims, keepdim=True).clamp_min(1e-3)


def camera_key(frames: torch.Tensor) -> torch.Tensor:
    """(B, D) descriptors of frames (B, 3, H, W): standardised, area-pooled to 8 x 8."""
    return F.adaptive_avg_pool2d(standardise(frames.float()), KEY_SIZE).flatten(1)


def crop_regions(frames: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Crops (B, R, 3, size, size) of frames (B, 3, H, W) at normalised boxes (B, R, 4) (bilinear)."""
    B, R = boxes.shape[:2]
    x0, y0, x1, y1 = boxes.unbind(-1)
    theta = torch.zeros(B, R, 2, 3, dtype=frames.dtype, device=frames.device)
    theta[..., 0, 0], theta[..., 0, 2] = x1 - x0, x0 + x1 - 1
    theta[..., 1, 1], theta[..., 1, 2] = y1 - y0, y0 + y1 - 1
    grid = F.affine_grid(theta.flatten(0, 1), [B * R, 3, size, size], align_corners=False)
    src = frames[:, None].expand(B, R, *frames.shape[1:]).flatten(0, 1)
    return F.grid_sample(src, grid, align_corners=False).unflatten(0, (B, R))


def tube_windows(x: torch.Tensor, length: int, dim: int) -> torch.Tensor:
    """Every run of `length` consecutive steps along `dim` of `x`, the steps of a run laid end to end
    (frame-major) in one axis: (..., t, n) along dim -> (..., t - length + 1, length * n). The one tube
    layout of the tube bank and of the tubes scored against it."""
    return x.unfold(dim, length, 1).movedim(-1, dim + 1).flatten(dim + 1, dim + 2)


class LocalPatterns(nn.Module):
    def __init__(
        self,
        cfg: LocalPatternsConfig,
        backbone: nn.Module | None = None,
        visual: int | None = None,
        cameras: int = 0,
        regions: int = 1,
        bank: int = 0,
        tube_bank: int = 0,
    ):
        super().__init__()
        self.cfg = cfg
        self.backbone = backbone if backbone is not None else Backbone(cfg.crop, cfg.widths, cfg.visual)
        visual = visual or cfg.visual
        self.image = ImageAttention(visual, cfg.hidden, cfg.queries, cfg.embed, cfg.heads) if cfg.itam else None
        self.text = TextAttention(cfg.vocab, cfg.hidden, cfg.embed, cfg.heads, cfg.max_len) if cfg.itam else None
        n = cfg.queries * cfg.embed if cfg.itam else visual
        self.features = n
        self.predictor = (
            StateMachine(n, cfg.order, cfg.length, cfg.dt, cfg.channels) if cfg.smm else PlainPredictor(n, cfg.length)
        )
        self.register_buffer("feat_mean", torch.zeros(n))
        self.register_buffer("feat_std", torch.ones(n))
        self.register_buffer("cam_keys", torch.zeros(cameras, 3 * KEY_SIZE * KEY_SIZE))
        self.register_buffer("boxes", torch.zeros(cameras, regions, 4))
        self.register_buffer("valid", torch.zeros(cameras, regions, dtype=torch.bool))
        self.register_buffer("bank", torch.zeros(cameras, regions, bank, n, dtype=torch.float16))
        self.register_buffer("bank_valid", torch.zeros(cameras, regions, bank, dtype=torch.bool))
        self.register_buffer("tube_bank", torch.zeros(cameras, regions, tube_bank, cfg.length * n, dtype=torch.float16))
        self.register_buffer("tube_bank_valid", torch.zeros(cameras, regions, tube_bank, dtype=torch.bool))
        self.register_buffer("pred_scale", torch.ones(cameras, regions))
        self.register_buffer("novelty_scale", torch.ones(cameras, regions))
        self.register_buffer("tube_scale", torch.ones(cameras, regions))

    # -- spatial part ----------------------------------------------------------------------------
    def image_features(self, crops: torch.Tensor) -> torch.Tensor:
        """F^I (B, N_q, E_d) (or the mean backbone token (B, 1, V_d) without ITAM) of crops (B, 3, c, c)."""
        tokens = self.backbone(crops)
        return self.image(tokens) if self.image is not None else tokens.mean(1, keepdim=True)

    def region_features(self, crops: torch.Tensor) -> torch.Tensor:
        """Standardised v (..., N) of crops (..., 3, c, c)."""
        f = self.image_features(crops.flatten(0, -4)).flatten(1)
        return ((f - self.feat_mean) / self.feat_std).unflatten(0, crops.shape[:-3])

    def crops(self, frames: torch.Tensor, camera: torch.Tensor) -> torch.Tensor:
        """Region crops (B, R, 3, c, c) of standardised frames (B, 3, H, W) with each one's camera (B,)."""
        return crop_regions(standardise(frames.float()), self.boxes[camera], self.cfg.crop)

    def camera_of(self, frames: torch.Tensor) -> torch.Tensor:
        return torch.cdist(camera_key(frames), self.cam_keys).argmin(1)

    # -- scores ----------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> dict:
        """Scores of clips (N, 3, T, H, W) in [-1, 1] around their centre frame c = T // 2: for each frame
        t of c - w .. c + w (w = ``context``), the SMM error of predicting v(t) from v(t-dt-L+1 .. t-dt),
        the distance of v(t) to the nearest normal feature of its region and the distance of the tube
        v(t-L+1 .. t) to the nearest normal tube of its region, each over its region's scale and averaged
        over the 2w + 1 frames; then the max over regions."""
        cfg, w = self.cfg, self.cfg.context
        N, _, T, _, _ = x.shape
        c = T // 2
        first = c - w - cfg.dt - cfg.length + 1
        if first < 0 or c + w >= T:
            raise ValueError(
                f"clips of {T} frames are too short for tubes of {cfg.length} + dt {cfg.dt} "
                f"before frames {c - w}..{c + w}"
            )
        frames = x[:, :, first : c + w + 1].transpose(1, 2)  # N, t, 3, H, W
        cam = self.camera_of(x[:, :, c])
        # a frame's region features depend on the frame and its clip's camera only: overlapping clips
        # (a video's consecutive clips) share them, so each distinct (frame, camera) is computed once
        where, src = shared_frames(frames, cam.tolist())  # (N, t) row of each frame among the distinct ones
        u = self.region_features(self.distinct_crops(x, first, cam, src))  # U, R, n
        dcam = cam[src[:, 0]]
        v = u[where].transpose(1, 2)  # N, R, t, n
        k = 2 * w + 1
        tubes = torch.stack([v[:, :, j : j + cfg.length] for j in range(k)], 2)  # N, R, k, L, n
        target = v[:, :, -k:]  # N, R, k, n
        err = (self.predictor(tubes) - target).pow(2).mean(-1).mean(-1) / self.pred_scale[cam]
        near = self.nearest_normal(u, dcam)  # U, R: distance of a frame's feature to its region's bank
        d = near[where[:, -k:]].transpose(1, 2).contiguous().mean(-1) / self.novelty_scale[cam]  # N, R
        valid = self.valid[cam]
        return {
            "prediction_error": err.masked_fill(~valid, float("-inf")).amax(1),
            "spatial_novelty": d.masked_fill(~valid, float("-inf")).amax(1),
            "tube_novelty": self.tube_novelty(v, cam, k).masked_fill(~valid, float("-inf")).amax(1),
        }

    def tube_novelty(self, v: torch.Tensor, cam: torch.Tensor, k: int) -> torch.Tensor:
        """(N, R): the distance of each region's tube ending at each of the clip's last `k` frames of `v`
        (N, R, t, n) to the nearest normal tube of that region, over the region's scale, averaged over the
        k frames (0 without a tube bank). A region stopped where it always moves, or moving faster, or
        through its poses in another order, is a tube no normal one is near, though each frame is."""
        if self.tube_bank.shape[2] == 0:
            return v.new_zeros(v.shape[:2])
        L, first = self.cfg.length, v.shape[2] - k - self.cfg.length + 1
        ends = tube_windows(v, L, 2)[:, :, first : first + k].transpose(1, 2)  # N, k, R, L n
        near = self.nearest_normal(ends.flatten(0, 1), cam.repeat_interleave(k), self.tube_bank, self.tube_bank_valid)
        return near.unflatten(0, (len(v), k)).mean(1) / self.tube_scale[cam]

    def distinct_crops(self, x: torch.Tensor, first: int, cam: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
        """Region crops (U, R, 3, c, c) of the distinct frames src (U, 2) (clip, frame index from `first`)
        of clips x (N, 3, T, H, W). A frame is read from its clip's layout (N, 3, H, W) views of x, as
        a clip's frames are standardised one frame index at a time (the reductions' order, and hence
        the last bits of the result, follow the layout)."""
        out = None if len(src) else self.crops(x[:, :, first], cam)  # no clips: no crops
        for j in src[:, 1].unique().tolist():
            rows = (src[:, 1] == j).nonzero().flatten()
            n = src[rows, 0]
            lo, hi = int(n[0]), int(n[-1]) + 1
            clips = x[lo:hi] if hi - lo == len(n) else x[n]  # a run of clips as a view, else gathered
            c = self.crops(clips[:, :, first + j], cam[n])
            if out is None:
                out = c.new_empty(len(src), *c.shape[1:])
            out[rows] = c
        return out

    def nearest_normal(
        self, v: torch.Tensor, cam: torch.Tensor, bank: torch.Tensor | None = None, valid: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, R): the distance of features v (B, R, n) to the nearest valid bank feature of the same
        region of each one's camera cam (B,) - the bank of each camera read once. `bank`, `valid`: another
        bank of the same layout (K, R, M, n) (the tubes'); default the features'."""
        bank = self.bank if bank is None else bank
        valid = self.bank_valid if valid is None else valid
        out = v.new_empty(v.shape[:2])
        for k in cam.unique().tolist():
            sel = (cam == k).nonzero().flatten()
            # at least two rows: the product of a single row takes another path (its last bits differ)
            q = v[sel].transpose(0, 1).expand(-1, max(2, len(sel)), -1)  # R, b, n
            d = torch.cdist(q, bank[k].float())  # R, b, M
            out[sel] = d.masked_fill(~valid[k][:, None], float("inf")).amin(-1).T[: len(sel)]
        return out
