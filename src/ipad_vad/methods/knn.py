"""The reference detector (issue 11, DESIGN §9): each clip against a device's normal training clips
in a brightness-normalised, downsampled descriptor (``models/knn_reference.py``): with ``score:
local`` (issue 12) the worst small cell of its residual to the nearest normal clips, light offsets
removed and each cell aligned within ``shift`` pixels; with ``score: global`` the whole-clip distance.
It learns nothing, fits in seconds on a CPU, and every learned method has to beat it. Fitting
collects the descriptors of the training clips (the same share of the footage the trainer would
see); adapting to a device refits the bank on that device's footage — the ``finetune.fraction``
share as every method, or with ``bank_footage: all`` all of it, the alert threshold then calibrated
on each training recording against a bank of the others.

This file is the worked example of a method: a name, its components, how it is built, fitted,
adapted, scored and loaded; saving is the base class's (the bank is a buffer of the module).
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field
from torch import nn
from torch.utils.data import DataLoader

from ..data.sampling import FractionSampler, contiguous_share_ends, restrict_to_share
from ..models.knn_reference import KnnReference
from . import register
from .base import ClipScores, FitHooks, FitResult, Localisation, Method, MethodSettings, NonNegInt, PosInt, ScoreComponent


class KnnSettings(MethodSettings):
    """``methods.knn`` (each setting measured in docs/quality.md)."""

    frames: PosInt = 5  # frames of each clip in the descriptor, evenly spaced
    size: Annotated[list[PosInt], Field(min_length=2, max_length=2)] = [16, 16]  # each frame downsampled to (H, W)
    normalise: Literal["frame", "none"] = "frame"  # frame: zero mean, unit std per frame (lighting-robust)
    k: PosInt = 1  # nearest normal clips
    score: Literal["global", "local"] = "global"  # whole-clip distance | worst cell of the residual
    cell: PosInt = 4  # local: cells of cell x cell descriptor pixels
    offset_cell: NonNegInt = 0  # local: the local light offset removed over blocks this size first (0: off)
    retrieve_pool: PosInt = 1  # local: the k nearest found on the descriptor pooled by this
    shift: NonNegInt = 0  # local: each cell compared with the bank clip moved by up to this many pixels
    frame_weight: Literal["uniform", "centre"] = "uniform"  # local: how the clip's frames count
    centre_width: Annotated[float, Field(gt=0, le=1)] = 0.5  # centre: where the triangle reaches zero
    bank_stride: NonNegInt = 1  # a bank clip starting every this many frames (0: clip.train_stride)
    bank_footage: Literal["finetune", "all"] = "finetune"  # a device's bank: the finetune share | all footage
    max_bank: NonNegInt = 0  # at most this many clips in the bank, evenly thinned (0: no limit)


@register
class KnnMethod(Method):
    name = "knn"
    label = "Reference (kNN)"
    components = (ScoreComponent("distance", "distance to the nearest normal clips (brightness-normalised descriptor; "
                                             "score: local = the worst cell of the residual)"),)
    adaptations = ("refit",)
    takes_pseudo_anomalies = False  # a memory bank of normal clips, not trained by gradient
    Settings = KnnSettings

    def _settings(self) -> dict:
        """The reference module's arguments."""
        s = self.settings
        return {"frames": s.frames, "size": tuple(s.size), "normalise": s.normalise, "k": s.k, "score": s.score,
                "cell": s.cell, "offset_cell": s.offset_cell, "retrieve_pool": s.retrieve_pool, "shift": s.shift,
                "frame_weight": s.frame_weight, "centre_width": s.centre_width}

    def build(self) -> nn.Module:
        return KnnReference(**self._settings())

    def from_state(self, state_dict: dict) -> nn.Module:
        return KnnReference.from_state_dict(state_dict, **self._settings())

    @torch.no_grad()
    def fit(self, dataset, out_dir, settings, hooks: FitHooks | None = None, model: nn.Module | None = None) -> FitResult:
        """The bank: descriptors of every clip starting each ``bank_stride`` frames within the footage
        the trainer would see (the contiguous ``settings.fraction`` of each video: the rest stays unseen
        for calibration), evenly thinned to ``max_bank`` clips. A dense bank matters: on the demo data
        stride 1 instead of the training stride 4 raised the AUC on every scene measured (docs/methods/knn.md)."""
        hooks = hooks or FitHooks()
        model = self.build()
        stride = self.settings.bank_stride or dataset.stride
        if settings.fraction_mode == "contiguous":
            data = restrict_to_share(dataset, contiguous_share_ends(dataset, settings.fraction), stride)
            sampler = None
        else:  # a random share of the training clips, as the trainer draws it
            data = dataset
            sampler = FractionSampler(dataset, settings.fraction, settings.fraction_mode, seed=settings.seed, shuffle=False)
        loader = DataLoader(data, batch_size=64, sampler=sampler, num_workers=0)
        if hooks.progress:
            from tqdm.auto import tqdm

            loader = tqdm(loader, desc=f"{self.name} bank", leave=False, disable=None)
        descriptors, recording, centre = [], [], []
        for b in loader:
            descriptors.append(model.descriptor(b["clip"]))
            recording.append(torch.as_tensor(b["video_index"]))
            centre.append(torch.as_tensor(b["center"]))
        if not descriptors:
            raise ValueError("no training clips to fit the reference bank on")
        bank, recording, centre = torch.cat(descriptors), torch.cat(recording), torch.cat(centre)
        cap = self.settings.max_bank
        if cap and len(bank) > cap:
            keep = torch.linspace(0, len(bank) - 1, cap).round().long()
            bank, recording, centre = bank[keep], recording[keep], centre[keep]
        model.set_bank(bank, recording, centre)
        if hooks.on_epoch_end:
            hooks.on_epoch_end(1, {"bank_size": float(len(bank))})
        return FitResult(model, [{"epoch": 1, "bank_size": float(len(bank))}], {"bank_size": len(bank)})

    def adapt_fraction(self, fraction: float, n_recordings: int) -> float:
        """``bank_footage: all``: the device bank holds all of its training footage, calibration then
        leaving one recording out (with two recordings or more; with one, the share as ``finetune``);
        ``finetune``: the ``finetune.fraction`` share, as every method."""
        return 1.0 if self.settings.bank_footage == "all" and n_recordings >= 2 else fraction

    def heldout_model(self, model: nn.Module, recording: int) -> nn.Module | None:
        return model.without_recording(recording)

    def score_batch(self, model: nn.Module, x: torch.Tensor) -> ClipScores:
        return ClipScores(self.clip_components, model(x)["distance"][:, None])

    @torch.no_grad()
    def localise(self, model: nn.Module, x: torch.Tensor) -> Localisation:
        """The residual to the nearest normal clip per cell (``score: local``) or descriptor pixel, and
        that clip's recording and centre frame (``KnnReference.local_map``)."""
        heat, idx = model.local_map(model.descriptor(x))
        return Localisation(heat, idx, model.bank_recording[idx], model.bank_frame[idx])
