"""The reference detector (issue 11, DESIGN §9): each clip against a device's normal training clips
in a brightness-normalised, downsampled descriptor (``models/knn_reference.py``): with ``score:
local`` (issue 12) the worst small cell of its residual to the nearest normal clips, light offsets
removed and each cell aligned within ``shift`` pixels; with ``score: global`` the whole-clip distance.
It learns nothing, fits in seconds on a CPU, and every learned method has to beat it. Fitting
collects the descriptors of the training clips (the same share of the footage the trainer would
see); adapting to a device refits the bank on that device's footage — the ``adapt.fraction``
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
from torch.utils.data import DataLoader, Subset

from ..models.knn_reference import KnnReference
from . import register
from .abilities import BankSettings, MemoryBankMixin
from .base import FitHooks, FitResult, Localisation, Method, PosInt, ScoreComponent


class KnnSettings(BankSettings):
    """``methods.knn`` (each setting measured in docs/quality.md); the bank's and the matching's keys
    (``frames``, ``k``, ``cell``, ... ``bank_footage``, ``max_bank``) are ``BankSettings``."""

    size: Annotated[list[PosInt], Field(min_length=2, max_length=2)] = [16, 16]  # each frame downsampled to (H, W)
    normalise: Literal["frame", "none"] = "frame"  # frame: zero mean, unit std per frame (lighting-robust)
    score: Literal["global", "local"] = "global"  # whole-clip distance | worst cell of the residual
    censor_clipped: bool = False  # local: a query's pixels clipped at white or black compared as the bounds they
    # are, the bank brought to the query's levels over the rest (a light switched on; models/clipped.py)
    clipped_within: Annotated[int, Field(ge=0, le=127)] = 10  # censor_clipped: this close to 255 or 0 counts
    # as clipped (compressed video rings around a clipped region; docs/alerts.md measures 2, 10, 20)


@register
class KnnMethod(MemoryBankMixin, Method):
    name = "knn"
    label = "Reference (kNN)"
    components = (
        ScoreComponent(
            "distance",
            "distance to the nearest normal clips (brightness-normalised descriptor; "
            "score: local = the worst cell of the residual)",
        ),
    )
    adaptations = ("refit",)
    takes_pseudo_anomalies = False  # a memory bank of normal clips, not trained by gradient
    Settings = KnnSettings
    bank_float64_spacing = False  # thinned in single precision since max_bank exists (results kept)

    def _settings(self) -> dict:
        """The reference module's arguments."""
        s = self.settings
        return {
            "frames": s.frames,
            "size": tuple(s.size),
            "normalise": s.normalise,
            "score": s.score,
            "censor_clipped": s.censor_clipped,
            "clipped_within": s.clipped_within,
            **s.matching(),
        }

    def build(self) -> nn.Module:
        return KnnReference(**self._settings())

    def from_state(self, state_dict: dict) -> nn.Module:
        return KnnReference.from_state_dict(state_dict, **self._settings())

    @torch.no_grad()
    def fit(
        self, dataset, out_dir, settings, hooks: FitHooks | None = None, model: nn.Module | None = None
    ) -> FitResult:
        """The bank: descriptors of the bank's clips (``MemoryBankMixin.bank_clips``); a bank of several
        scenes' footage (the base's) is marked pooled, matched as a whole (``retrieve_from``)."""
        hooks = hooks or FitHooks()
        model = self.build()
        data, indices = self.bank_clips(dataset, settings)
        loader = DataLoader(Subset(data, indices), batch_size=64, num_workers=0)
        if hooks.progress:
            from tqdm.auto import tqdm

            loader = tqdm(loader, desc=f"{self.name} bank", leave=False, disable=None)
        descriptors, recording, centre = [], [], []
        for b in loader:
            descriptors.append(model.descriptor(b["clip"]))
            recording.append(torch.as_tensor(b["video_index"]))
            centre.append(torch.as_tensor(b["center"]))
        bank, recording, centre = torch.cat(descriptors), torch.cat(recording), torch.cat(centre)
        model.set_bank(
            bank,
            recording,
            centre,
            pooled=self.pooled_footage(dataset),
            marked=self.marked_clips(data, recording, centre),
        )
        if hooks.on_epoch_end:
            hooks.on_epoch_end(1, {"bank_size": float(len(bank))})
        return FitResult(model, [{"epoch": 1, "bank_size": float(len(bank))}], {"bank_size": len(bank)})

    def heldout_model(self, model: nn.Module, recording: int) -> nn.Module | None:
        return model.without_recording(recording)

    @torch.no_grad()
    def localise(self, model: nn.Module, x: torch.Tensor) -> Localisation:
        """The residual to the nearest normal clip per cell (``score: local``) or descriptor pixel, and
        that clip's recording and centre frame (``KnnReference.local_map``)."""
        return self.bank_localisation(model, *model.query_descriptors(x))
