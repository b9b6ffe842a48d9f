"""Opt-in abilities of a method (issue 28), composed as mixins onto the small ``Method`` core of
``base.py``, as anomalib composes its ``MemoryBankMixin``:

* ``LoRAMixin``: the method can be adapted with LoRA (``lora`` among its ``adaptations``): the
  modules the adapters go on (``lora_targets``) and the modules trained in full beside them;
* ``WindowScoringMixin``: some of its score components are computed over a video's sequence of
  clips from their period positions (``ScoreComponent(window=True)``; IPAD-VAD's E_p);
* ``MemoryBankMixin``: its model is a bank of normal clips matched by ``models/knn_reference.py``
  (the reference detector and the feature bank): which clips the bank holds, how much of a device's
  footage it adapts on, scoring by the distance, and forgetting one recording for calibration.

A caller asks for an ability with ``isinstance(method, ...)``; a method without it has none of its
members. ``register`` (``methods/__init__.py``) checks that a method declaring what an ability needs
(LoRA among its adaptations, a window component, bank settings) has the ability.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
import torch
from pydantic import Field
from torch import nn

from .base import ClipScores, Localisation, MethodSettings, NonNegInt, PosInt, ScoreContext


class LoRAMixin:
    """A method adapted to a device with LoRA (``methods/adaptation.py``, ``train/lora.py``)."""

    lora_targets: ClassVar[str]  # regex of the module names LoRA adapts

    def lora_modules_to_save(self, lora) -> list[str] | None:
        """Module-name suffixes trained in full beside the LoRA adapters (saved with them); None: the
        Video Swin default (``train/lora.py``). A model with BatchNorm must list its norms here, or
        their running statistics would change in the base without being saved."""
        return None


class WindowScoringMixin:
    """A method with components computed over a video's clips from their period positions (the
    sliding-window period error of seed 000 §4.3); its ``score_batch`` returns each clip's ``phase``."""

    @property
    def window_components(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.components if c.window)

    @property
    def n_classes(self) -> int:
        """Period classes of the model's period head (the trainer's period targets)."""
        raise NotImplementedError

    def context(self, cycle_frames: float | None) -> ScoreContext:
        """Scene settings of the window components (a scene's cycle length in frames, if known)."""
        raise NotImplementedError

    def lookahead(self, ctx: ScoreContext) -> int:
        """Clips after clip t whose output the window components of t need (streaming latency)."""
        raise NotImplementedError

    def window_values(self, phase: np.ndarray, ctx: ScoreContext) -> dict[str, np.ndarray]:
        """Window components of one whole video from its clips' period positions, in order."""
        raise NotImplementedError

    def window_values_at(self, phase: list, t: int, ctx: ScoreContext) -> dict[str, float]:
        """The same for clip `t` from the positions known so far (streaming); equals
        ``window_values`` once `lookahead` clips past t are known."""
        raise NotImplementedError


def window_components(method) -> tuple[str, ...]:
    """The method's window components; none without the ability."""
    return method.window_components if isinstance(method, WindowScoringMixin) else ()


def score_context(method, cycle_frames: float | None) -> ScoreContext:
    """The scene context of the method's window components; the empty context without them."""
    return method.context(cycle_frames) if isinstance(method, WindowScoringMixin) else ScoreContext()


def lookahead(method, ctx: ScoreContext) -> int:
    """Clips after clip t the method's window components of t need; 0 without them."""
    return method.lookahead(ctx) if isinstance(method, WindowScoringMixin) else 0


class BankSettings(MethodSettings):
    """The keys of a memory-bank method's section (``MemoryBankMixin``): which normal clips its bank
    holds and how a clip is matched against them (``models/knn_reference.KnnReference``). The
    defaults are the reference detector's; a method redeclares the ones it changes."""

    frames: PosInt = 5  # frames of each clip in the descriptor, evenly spaced
    k: PosInt = 1  # nearest normal clips
    cell: PosInt = 4  # local: cells of cell x cell descriptor pixels
    offset_cell: NonNegInt = 0  # local: the local light offset removed over blocks this size first (0: off)
    retrieve_pool: PosInt = 1  # local: the k nearest found on the descriptor pooled by this
    retrieve_from: Literal["bank", "each_recording"] = "bank"  # local: the k nearest of the whole bank | of each
    # of its recordings (a bank grown by a recording never scores a clip higher; models/knn_reference.py)
    shift: NonNegInt = 0  # local: each cell compared with the bank clip moved by up to this many pixels
    camera_shift: NonNegInt = 0  # local: each bank frame first moved as a whole by up to this many pixels (the camera
    # nudged or drifting; the strip it does not show is not compared; models/knn_reference.py; 0: off)
    frame_weight: Literal["uniform", "centre"] = "uniform"  # local: how the clip's frames count
    centre_width: Annotated[float, Field(gt=0, le=1)] = 0.5  # centre: where the triangle reaches zero
    persist: PosInt = 1  # local: a cell counts by the error it holds over this many consecutive frames (1: off)
    persist_reach: NonNegInt = 0  # persist: the deviation may move this many cells a frame and still hold
    persist_scope: Literal["all", "novel"] = "all"  # persist: of the whole cell error | of its part never seen at
    # that place in normal footage (a timing fault then counts as it is; models/knn_reference.py)
    novelty_frames: PosInt = 256  # persist_scope novel: normal frames in the memory of how each place looks
    bank_stride: NonNegInt = 1  # a bank clip starting every this many frames (0: clip.train_stride)
    bank_footage: Literal["adapt", "all"] = "adapt"  # a device's bank: the adapt share | all footage
    max_bank: NonNegInt = 0  # at most this many clips in the bank, evenly thinned (0: no limit)
    tolerate_marked: bool = False  # local: what the frames of an alert an operator marked a false alarm show at
    # a place is tolerated there at any moment, not only at theirs (models/knn_reference.py)
    tolerate_frames: Literal["alert", "alert_clips", "recording"] = "alert"  # tolerate_marked: the bank clips that
    # stand for the marks: centred on the alert's frames | holding one | the whole exported recording (``marked_clips``)

    def matching(self) -> dict:
        """The matcher's arguments (``KnnReference``) these settings fix."""
        return {
            "k": self.k,
            "cell": self.cell,
            "offset_cell": self.offset_cell,
            "retrieve_pool": self.retrieve_pool,
            "retrieve_from": self.retrieve_from,
            "shift": self.shift,
            "camera_shift": self.camera_shift,
            "frame_weight": self.frame_weight,
            "centre_width": self.centre_width,
            "persist": self.persist,
            "persist_reach": self.persist_reach,
            "persist_scope": self.persist_scope,
            "novelty_frames": self.novelty_frames,
            "tolerate_marked": self.tolerate_marked,
        }


def evenly_spaced(n: int, cap: int, float64: bool) -> list[int]:
    """`cap` of the indices 0..n-1, evenly spaced (rounded half to even). `float64`: spaced in double
    precision; else in single precision as ``torch.linspace`` (the reference detector's banks since it
    thinned them: its positions differ from the double-precision ones for most n, so each method keeps
    its own for its results to stay the same)."""
    if float64:
        return np.linspace(0, n - 1, cap).round().astype(int).tolist()
    return torch.linspace(0, n - 1, cap).round().long().tolist()


class MemoryBankMixin:
    """A method whose model is a bank of normal clips matched by ``KnnReference``; its ``Settings``
    extend ``BankSettings``. Fitting (re)builds the bank, so it adapts by ``refit`` or refits the bank
    after its adaptation steps; the bank keeps each clip's recording, so that the alert threshold can
    be calibrated leaving one recording out (``heldout_model``, ``bank_footage: all``)."""

    settings: BankSettings
    bank_float64_spacing: ClassVar[bool] = True  # evenly_spaced's precision when thinning to max_bank

    @staticmethod
    def pooled_footage(dataset) -> bool:
        """The clips of `dataset` come from several scenes (a base's bank over the pretraining scenes):
        the bank is then matched as a whole whatever ``retrieve_from``."""
        return len({v.scene for v in dataset.videos}) > 1

    def marked_clips(self, dataset, recording: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
        """Which bank clips, by their recording (indices into ``dataset.videos``) and centre frame, stand
        for footage an operator marked a false alarm (``KnnReference.bank_marked``), by
        ``tolerate_frames``: ``alert``, the clips centred on a frame of the alert itself; ``alert_clips``,
        the clips that hold one; ``recording``, every clip of the exported recording, its context too
        (``VideoRecord.marked_frames``; docs/alerts.md measures the three)."""
        scope, T, videos = self.settings.tolerate_frames, dataset.clip_len, dataset.videos
        out = []
        for r, c in zip(recording.tolist(), centre.tolist(), strict=True):
            v = videos[int(r)]
            if scope == "recording":
                out.append(v.marked_false_alarm)
            elif scope == "alert_clips":  # a clip's centre frame is its first + clip_len // 2
                out.append(v.marked_frames(int(c) - T // 2, int(c) - T // 2 + T - 1))
            else:
                out.append(v.marked_frames(int(c), int(c)))
        return torch.tensor(out, dtype=torch.bool)

    @staticmethod
    def bank_localisation(matcher: nn.Module, d: torch.Tensor, clipped: torch.Tensor | None = None) -> Localisation:
        """The residual of descriptors `d` to their nearest bank clip per cell (``KnnReference.local_map``;
        `clipped`: the query's clipped elements, censored as in the score) and that clip's recording and
        centre frame: an alert's heat map and nearest normal frame."""
        heat, idx = matcher.local_map(d, clipped)
        return Localisation(heat, idx, matcher.bank_recording[idx], matcher.bank_frame[idx])

    def bank_clips(self, dataset, settings) -> tuple[object, list[int]]:
        """The bank's clips (the dataset they index, their indices in order): every ``bank_stride``
        frames within the footage the trainer would see (the contiguous ``settings.fraction`` of each
        video, the rest unseen for calibration; or a random share as the trainer draws it), evenly
        thinned to ``max_bank``. A dense bank matters: on the demo data stride 1 instead of the training
        stride 4 raised the reference detector's AUC on every scene measured (docs/methods/knn.md)."""
        from ..data.sampling import FractionSampler, contiguous_share_ends, restrict_to_share

        if settings.fraction_mode == "contiguous":
            stride = self.settings.bank_stride or dataset.stride
            data = restrict_to_share(dataset, contiguous_share_ends(dataset, settings.fraction), stride)
            indices = list(range(len(data)))
        else:  # a random share of the training clips, as the trainer draws it
            data = dataset
            indices = list(
                FractionSampler(
                    dataset, settings.fraction, settings.fraction_mode, seed=settings.seed, shuffle=False
                ).indices
            )
        if not indices:
            raise ValueError(f"no training clips to fit the {self.name} bank on")
        cap = self.settings.max_bank
        if cap and len(indices) > cap:
            indices = [indices[i] for i in evenly_spaced(len(indices), cap, self.bank_float64_spacing)]
        return data, indices

    def adapt_fraction(self, fraction: float, n_recordings: int) -> float:
        """The share of a device's training footage (`n_recordings` recordings) the bank adapts on:
        ``adapt.fraction``, as every method (the rest calibrates the alert threshold), or with
        ``bank_footage: all`` all of it, calibration then leaving one recording out (with two recordings
        or more; with one, the share as ``adapt``)."""
        return 1.0 if self.settings.bank_footage == "all" and n_recordings >= 2 else fraction

    def heldout_model(self, model: nn.Module, recording: int) -> nn.Module | None:
        """`model` as if its bank had never seen training recording `recording` (its index among the
        device's training videos), to calibrate on footage it was fitted on, each recording against the
        others. None: the bank does not know its clips' recordings (saved before they were kept)."""
        raise NotImplementedError

    def score_batch(self, model: nn.Module, x: torch.Tensor) -> ClipScores:
        return ClipScores(self.clip_components, model(x)["distance"][:, None])


def adapts_on_all_footage(method, n_calibration: int) -> bool:
    """Whether `method` adapts on all of a device's training footage because it is set to
    (``adapt_footage: all``) and the device has `n_calibration` > 0 calibration recordings: its score map
    and threshold are then set on those (``jobs/calibrate.py``)."""
    return method.settings.adapt_footage == "all" and n_calibration > 0


def adapt_fraction(method, fraction: float, n_recordings: int, n_calibration: int = 0) -> float:
    """The share of a device's footage `method` adapts on (`n_recordings` training and `n_calibration`
    calibration recordings): all of it where the method's ``adapt_footage`` is ``all`` and the device has
    calibration recordings to calibrate on (``jobs/calibrate.py``), or where a memory bank is set to hold
    all of it (``MemoryBankMixin.adapt_fraction``); else ``adapt.fraction``."""
    if adapts_on_all_footage(method, n_calibration):
        return 1.0
    return method.adapt_fraction(fraction, n_recordings) if isinstance(method, MemoryBankMixin) else fraction
