"""Learned features in a memory bank (issue 25, item 3): the reference detector's matching over the
feature maps of an encoder trained on normal footage instead of over pixels (``models/feature_bank.py``).

The recipe of PatchCore-like detectors - features of a pretrained network against a bank of normal
features - with this project's own network and its own matching: every clip's descriptor is the
feature maps of ``frames`` of its frames; scoring is ``KnnReference``'s (the k nearest normal clips,
the worst ``cell`` x ``cell`` block of the residual, ``offset_cell`` local offsets removed, each cell
aligned within ``shift`` feature cells, centre-weighted frames, ``models/local_error.py``), and the
bank keeps each clip's recording so that the alert threshold is calibrated leaving one recording out
(``bank_footage: all``), exactly as the reference detector. Only the descriptor differs.

Why this encoder. A pretrained ImageNet/Kinetics backbone cannot be downloaded here, and the
project's own networks (IPAD-VAD's Video Swin, INFP's encoder) learned to reconstruct or predict,
which on this CPU stops at a mean image (docs/quality.md §1): their features carry little of the
parts. What pixels cannot give and a generator of normal footage can teach is invariance to what
changes on normal footage: a small convolutional encoder (2 convolutions, 32 x 32 x 8 features per
64 x 64 frame, ~5 k parameters, a few minutes on two CPU cores) trained self-supervised - two
views of the same normal frame under a random global and smooth lighting change, a +-1 pixel shift,
blur and noise must give the same feature in every cell, other cells and other frames (other
phases of the cycle) a different one (dense InfoNCE), and the features must still reconstruct the
frame (so a changed part moves its cell). No labels, no anomaly types, no scene names: only normal
footage and the kinds of nuisance a camera produces.

Training: ``steps`` optimiser steps of ``batch_frames`` frames drawn from the training footage's
frames (pretraining on the synthetic scenes), cosine learning rate from ``lr``; per device
(``adaptation``):

* ``full`` (default): every weight fine-tuned ``adapt_steps`` of the same objective on the device's
  normal footage (the first ``adapt_share`` of each recording), then the bank refitted on all of it.
  Measured above ``lora`` on every seed's devices (+1.7, +1.4, +1.2 at 1,000 pretraining steps): the
  encoder has ~5 k weights, so adapters save neither compute nor storage worth a point of AUC;
* ``lora``: LoRA adapters on the encoder's convolutions (``lora_targets``, rank from ``adapt.lora``),
  the same steps (the paper's Table 3 adapts on 1/5: ``adapt_share``), then the bank refitted; the
  adapter file holds the adapters and the device's bank (the matcher is a module peft saves in full:
  ``lora_modules_to_save``);
* ``refit``: the whole recipe from scratch on the device's footage (no synthetic pretraining).

The bank is always the device's own. Ablations (declared below the method): ``feature_bank_random``
(the encoder's random initialisation, never trained: what the training is worth) and
``feature_bank_no_adapt`` (pretrained, no adaptation steps: the bank alone is refitted); the pixel
counterpart is ``knn`` itself. The bank's clips, the share of a device's footage it adapts on, the
scoring and the bank's settings are the reference detector's (``abilities.MemoryBankMixin``,
``BankSettings``). With ``bank_footage: all`` the adaptation steps see the first ``adapt_share`` of each
of a device's training recordings (all of it by default); the held-out recording of the threshold
calibration was then seen by the encoder (not by the bank), which may lower the calibration scores
slightly - never the AUC.
"""

from __future__ import annotations

import copy
import math
from typing import Annotated, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from ..models.feature_bank import FeatureBank, Nuisances, active, invariance_loss
from . import register
from .abilities import BankSettings, LoRAMixin, MemoryBankMixin
from .base import Channels, FitHooks, FitResult, Localisation, Method, NonNegInt, PosInt, ScoreComponent

Positive = Annotated[float, Field(gt=0)]
NonNeg = Annotated[float, Field(ge=0)]


class NuisanceSettings(BaseModel):
    """``methods.feature_bank.nuisances``: how far two views of a frame differ (``models/feature_bank.Nuisances``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    gain: NonNeg = 0.3  # global brightness x exp(N(0, gain))
    cast: NonNeg = 0.1  # each channel x exp(N(0, cast))
    field: Annotated[float, Field(ge=0, lt=1)] = 0.25  # a smooth light field of this amplitude
    shift: NonNegInt = 1  # camera jitter: pixels each direction
    blur: Annotated[float, Field(ge=0, le=1)] = 0.5  # probability of a 3x3 blur
    noise: NonNeg = 0.04  # sensor noise std up to this ([-1, 1] units)


class FeatureBankSettings(BankSettings):
    """``methods.feature_bank``: the bank's and the matching's keys are ``BankSettings`` (cells and
    shifts counted in feature cells), with these defaults changed."""

    frames: PosInt = 9  # frames of each clip in the descriptor, evenly spaced (as knn)
    # encoder convolutions (stride 2 but the last): cells of 2^(n-1) pixels. Two (a 32 x 32 map of a 64 x 64
    # frame, as knn's descriptor) instead of three (16 x 16, 16 channels): 74.9 -> 83.9 mean AUC, 3 seeds
    widths: Channels = [16, 32]
    channels: PosInt = 8  # feature channels per cell (8 at 32 x 32: twice the bank of 16 at 16 x 16)
    decoder_width: PosInt = 32  # the training-only decoder
    k: PosInt = 5  # the best of the k nearest normal clips
    cell: PosInt = 4  # worst cell of cell x cell feature cells (4 x 2 = 8 pixels, as knn's 4 descriptor pixels)
    # offset_cell 0 (off): the features are trained lighting-invariant
    retrieve_pool: PosInt = 4  # the k nearest found on the features pooled by this (speed: an 8 x 8 map)
    frame_weight: Literal["uniform", "centre"] = "centre"
    bank_footage: Literal["adapt", "all"] = "all"  # as knn: all = calibrated leaving one recording out
    max_bank: NonNegInt = 4000  # at most this many bank clips, evenly thinned (0: no limit)
    # pretraining optimiser steps (0: the random initialisation); 3,000 with full fine-tuning instead of 1,000
    # with LoRA: 83.9 -> 84.4 mean AUC, devices 81.9 -> 84.9, every seed (docs/methods/feature-bank.md)
    steps: NonNegInt = 3000
    # per device, LoRA or full (0: the bank alone is refitted); 600 instead of 200: devices 84.9 -> 85.6 mean
    # AUC, every seed, at 3x the adaptation time (docs/methods/feature-bank.md)
    adapt_steps: NonNegInt = 600
    adapt_share: Annotated[float, Field(gt=0, le=1)] = 1.0  # per device: the steps draw frames from this
    # first share of each recording's bank footage; the bank holds all of it (Table 3: LoRA on 1/5)
    batch_frames: PosInt = 32  # frames per step (two views each)
    lr: Positive = 0.002  # pretraining (cosine to 0)
    adapt_lr: Positive = 0.001  # per device
    cells: PosInt = 1024  # feature-map cells per InfoNCE step
    tau: Positive = 0.1  # InfoNCE temperature
    same_content: NonNeg = 0.15  # cells whose normalised pixels differ by less (RMS) are no negatives
    recon: NonNeg = 1.0  # weight of the reconstruction MSE
    nuisances: NuisanceSettings = NuisanceSettings()
    log_every: PosInt = 100  # steps per history entry


@register
class FeatureBankMethod(LoRAMixin, MemoryBankMixin, Method):
    name = "feature_bank"
    label = "Feature bank (learned features, kNN)"
    components = (
        ScoreComponent(
            "distance",
            "worst cell of the feature residual to the nearest normal clips "
            "(a self-supervised encoder's features, matched as the reference)",
        ),
    )
    # full first (the default): on a ~5 k-weight encoder LoRA saves no compute, and fine-tuning every weight
    # scored above it on every seed's devices (Table 3, docs/methods/feature-bank.md); lora stays a choice
    adaptations = ("full", "lora", "refit")
    adapt_share_setting = "adapt_share"  # Table 3 adapts on 1/5 of each recording by this, not adapt.fraction
    lora_targets = r"encoder\.(convs\.conv\d+|proj)"
    takes_pseudo_anomalies = False  # trained on nuisance views of normal frames, not on clips
    Settings = FeatureBankSettings

    def _module(self, bank_size: int = 0) -> FeatureBank:
        s = self.settings
        return FeatureBank(
            tuple(self.params["clip"]["size"]),
            s.frames,
            tuple(s.widths),
            s.channels,
            s.decoder_width,
            bank_size=bank_size,
            score="local",
            **s.matching(),
        )

    def build(self) -> nn.Module:
        return self._module()

    def lora_modules_to_save(self, lora) -> list[str]:
        return ["matcher"]  # the device's bank travels with the adapter

    # -- fitting ---------------------------------------------------------------------------------
    def _footage(self, dataset, clips) -> dict[int, tuple[int, np.ndarray]]:
        """Per video: (first frame, its frames (n, H, W, 3) uint8) covering the bank's clips."""
        T, out = dataset.clip_len, {}
        for vi in sorted({v for v, _ in clips}):
            starts = [s for v, s in clips if v == vi]
            lo, hi = min(starts), max(starts) + T
            out[vi] = (lo, np.asarray(dataset.videos[vi].source.read(range(lo, hi))))
        return out

    @staticmethod
    def _to_frames(a: np.ndarray | torch.Tensor, device) -> torch.Tensor:
        return torch.as_tensor(a).to(device).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)

    def _train(
        self, model: FeatureBank, pool: torch.Tensor, steps: int, lr: float, seed: int, device, hooks: FitHooks
    ) -> list[dict]:
        """`steps` of the invariance objective on frames drawn from `pool` (n, H, W, 3) uint8."""
        s = self.settings
        params = [p for p in model.parameters() if p.requires_grad]
        if steps == 0 or not params:
            return []
        opt = torch.optim.Adam(params, lr=lr)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 0.5 * (1 + math.cos(math.pi * i / steps)))
        g = torch.Generator().manual_seed(seed)
        n = Nuisances(**s.nuisances.model_dump())
        history, sums, count = [], {}, 0
        model.train()
        for step in range(1, steps + 1):
            idx = torch.randint(len(pool), (min(s.batch_frames, len(pool)),), generator=g)
            x = self._to_frames(pool[idx], device)
            loss, parts = invariance_loss(model, x, n, g, s.cells, s.tau, s.same_content, s.recon)
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f"{self.name}: loss is {loss.item()} at step {step}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            count += 1
            if step % s.log_every == 0 or step == steps:
                entry = {"epoch": len(history) + 1, "step": step, **{k: v / count for k, v in sums.items()}}
                history.append(entry)
                if hooks.on_epoch_end:
                    hooks.on_epoch_end(entry["epoch"], entry)
                sums, count = {}, 0
        model.eval()
        return history

    @torch.no_grad()
    def _set_bank(
        self, model: FeatureBank, footage, clips, centres: list[int], T: int, device, pooled: bool, marked
    ) -> int:
        """Descriptors of the bank's clips (their centre frames kept), each frame encoded once; `pooled`:
        several scenes' clips (a base's bank: matched as a whole whatever ``retrieve_from``, as knn's);
        `marked`: the clips from footage marked a false alarm (``marked_clips``)."""
        model.eval()
        offsets = model.frame_indices(T).numpy()
        feats = {}
        for vi, (lo, frames) in footage.items():
            x = self._to_frames(frames, device)
            feats[vi] = (lo, torch.cat([model.encoder(x[i : i + 256]) for i in range(0, len(x), 256)]))
        bank = torch.stack([feats[vi][1][torch.as_tensor(s - feats[vi][0] + offsets)].reshape(-1) for vi, s in clips])
        recording = torch.tensor([vi for vi, _ in clips])
        active(model.matcher).set_bank(bank.cpu(), recording, torch.tensor(centres), pooled=pooled, marked=marked)
        return len(bank)

    def fit(
        self, dataset, out_dir, settings, hooks: FitHooks | None = None, model: nn.Module | None = None
    ) -> FitResult:
        """From scratch (`model` None): ``steps`` of the invariance objective, then the bank. Adapting
        (`model`: the base, wrapped by peft for LoRA): ``adapt_steps`` on the device's footage, then its bank."""
        from ..train.loop import resolve_device

        hooks = hooks or FitHooks()
        s = self.settings
        device = resolve_device(settings.device)
        adapting = model is not None
        net = model if adapting else self.build()
        net = net.to(device)
        inner = net.get_base_model() if hasattr(net, "get_base_model") else net
        data, indices = self.bank_clips(dataset, settings)
        clips = [data.index[i] for i in indices]  # (video index, first frame)
        footage = self._footage(dataset, clips)
        share = s.adapt_share if adapting else 1.0
        pool = torch.cat([torch.as_tensor(f[: max(1, math.ceil(share * len(f)))]) for _, f in footage.values()])
        steps, lr = (s.adapt_steps, s.adapt_lr) if adapting else (s.steps, s.lr)
        pooled = self.pooled_footage(dataset)
        history = self._train(inner, pool, steps, lr, int(settings.seed), device, hooks)
        centres = [data.center_of(i) for i in indices]
        marked = self.marked_clips(data, torch.tensor([vi for vi, _ in clips]), torch.tensor(centres))
        n = self._set_bank(inner, footage, clips, centres, dataset.clip_len, device, pooled, marked)
        net = net.cpu()
        info = {"bank_size": n, "train_frames": len(pool), "steps": steps if history else 0}
        return FitResult(net, history or [{"epoch": 1, "bank_size": float(n)}], info)

    # -- where --------------------------------------------------------------------------------------
    @torch.no_grad()
    def localise(self, model: nn.Module, x: torch.Tensor) -> Localisation:
        """The feature residual to the nearest normal clip per cell (``KnnReference.local_map`` over the
        feature maps: cells of ``cell`` feature cells, 8 x 8 pixels at the defaults) and that clip's
        recording and centre frame: an alert's heat map and its nearest normal frame (issue 26)."""
        model = model.get_base_model() if hasattr(model, "get_base_model") else model
        return self.bank_localisation(active(model.matcher), model.descriptors(x))

    # -- calibration ------------------------------------------------------------------------------
    def heldout_model(self, model: nn.Module, recording: int) -> nn.Module | None:
        matcher = model.matcher.without_recording(recording)
        if matcher is None:
            return None
        other = copy.copy(model)  # the same encoder; the bank without that recording
        other._modules = dict(model._modules, matcher=matcher)
        return other


@register
class FeatureBankRandom(FeatureBankMethod):
    """Ablation: the encoder keeps its random initialisation, never trained (no pretraining, no
    adaptation steps): a fixed random convolutional descriptor matched as the reference detector. What
    the feature bank scores above it is what the training is worth. Settings: ``methods.feature_bank``
    with ``methods.feature_bank_random`` merged over it, the steps fixed at 0."""

    name = "feature_bank_random"
    label = "Feature bank, random encoder"
    variant_of = "feature_bank"
    overrides = {"steps": 0, "adapt_steps": 0}


@register
class FeatureBankNoAdapt(FeatureBankMethod):
    """Ablation: pretrained on the synthetic scenes, not adapted to the device (no adaptation steps: the
    device's bank alone is refitted). What the feature bank scores above it on the devices is what the
    per-device adaptation is worth. Settings: ``methods.feature_bank`` with
    ``methods.feature_bank_no_adapt`` merged over it, ``adapt_steps`` fixed at 0."""

    name = "feature_bank_no_adapt"
    label = "Feature bank, no adaptation"
    variant_of = "feature_bank"
    overrides = {"adapt_steps": 0}
