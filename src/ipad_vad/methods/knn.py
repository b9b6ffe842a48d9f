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

import torch
from torch import nn
from torch.utils.data import DataLoader

from ..data.sampling import FractionSampler, contiguous_share_ends, restrict_to_share
from ..models.knn_reference import KnnReference
from . import register
from .base import ClipScores, FitHooks, FitResult, Method, ScoreComponent


@register
class KnnMethod(Method):
    name = "knn"
    label = "Reference (kNN)"
    components = (ScoreComponent("distance", "distance to the nearest normal clips (brightness-normalised descriptor; "
                                             "score: local = the worst cell of the residual)"),)
    adaptations = ("refit",)
    takes_pseudo_anomalies = False  # a memory bank of normal clips, not trained by gradient

    def _settings(self) -> dict:
        c = self.cfg
        if c.get("bank_footage", "finetune") not in ("finetune", "all"):
            raise ValueError(f"methods.knn.bank_footage must be 'finetune' or 'all', got {c.get('bank_footage')!r}")
        return {"frames": int(c.get("frames", 5)), "size": tuple(c.get("size", (16, 16))),
                "normalise": c.get("normalise", "frame"), "k": int(c.get("k", 1)), "score": c.get("score", "global"),
                "cell": int(c.get("cell", 4)), "offset_cell": int(c.get("offset_cell", 0)),
                "retrieve_pool": int(c.get("retrieve_pool", 1)), "shift": int(c.get("shift", 0)),
                "frame_weight": c.get("frame_weight", "uniform"), "centre_width": float(c.get("centre_width", 0.5))}

    def build(self) -> nn.Module:
        return KnnReference(**self._settings())

    def from_state(self, state_dict: dict) -> nn.Module:
        return KnnReference.from_state_dict(state_dict, **self._settings())

    @torch.no_grad()
    def fit(self, dataset, out_dir, settings, hooks: FitHooks | None = None, model: nn.Module | None = None) -> FitResult:
        """The bank: descriptors of every clip starting each ``bank_stride`` frames within the footage
        the trainer would see (the contiguous ``settings.fraction`` of each video: the rest stays unseen
        for calibration), evenly thinned to ``max_bank`` clips. A dense bank matters: on the demo data
        stride 1 instead of the training stride 4 raised the AUC on every scene measured (README)."""
        hooks = hooks or FitHooks()
        model = self.build()
        stride = int(self.cfg.get("bank_stride", 1)) or dataset.stride
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
        descriptors, recording = [], []
        for b in loader:
            descriptors.append(model.descriptor(b["clip"]))
            recording.append(torch.as_tensor(b["video_index"]))
        if not descriptors:
            raise ValueError("no training clips to fit the reference bank on")
        bank, recording = torch.cat(descriptors), torch.cat(recording)
        cap = int(self.cfg.get("max_bank", 0) or 0)
        if cap and len(bank) > cap:
            keep = torch.linspace(0, len(bank) - 1, cap).round().long()
            bank, recording = bank[keep], recording[keep]
        model.set_bank(bank, recording)
        if hooks.on_epoch_end:
            hooks.on_epoch_end(1, {"bank_size": float(len(bank))})
        return FitResult(model, [{"epoch": 1, "bank_size": float(len(bank))}], {"bank_size": len(bank)})

    def adapt_fraction(self, fraction: float, n_recordings: int) -> float:
        """``bank_footage: all``: the device bank holds all of its training footage, calibration then
        leaving one recording out (with two recordings or more; with one, the share as ``finetune``);
        ``finetune``: the ``finetune.fraction`` share, as every method."""
        return 1.0 if self.cfg.get("bank_footage", "finetune") == "all" and n_recordings >= 2 else fraction

    def heldout_model(self, model: nn.Module, recording: int) -> nn.Module | None:
        return model.without_recording(recording)

    def score_batch(self, model: nn.Module, x: torch.Tensor) -> ClipScores:
        return ClipScores(self.clip_components, model(x)["distance"][:, None])
