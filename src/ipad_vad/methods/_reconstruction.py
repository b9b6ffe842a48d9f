"""Shared parts of the reconstruction autoencoders (IPAD-VAD, V-Swin-T, conAE, memAE): the
centre-frame reconstruction error as a score component, and the Video Swin models' build from the
shared ``model:`` section (with an optional local pretrained encoder)."""

from __future__ import annotations

import torch
from torch import nn

from ..train.lora import SWIN_QV
from .abilities import LoRAMixin
from .base import ClipScores, Localisation, Method, ScoreComponent

RECON_ERROR = ScoreComponent("recon_error", "reconstruction error of the clip's centre frame (-PSNR, dB)")


def psnr_from_mse(mse: torch.Tensor, value_range: float = 2.0) -> torch.Tensor:
    """PSNR in dB of images in [-1, 1] (range 2), as the official code does on [0, 1] images."""
    return 10 * torch.log10(value_range**2 / mse.clamp_min(1e-10))


def centre_residual(out: dict, x: torch.Tensor, centre_only: bool = False) -> torch.Tensor:
    """The reconstructed centre frame of each clip minus the frame, (B, 3, H, W) in float32;
    `centre_only`: ``out["recon"]`` holds that frame alone (B, 3, 1, H, W)."""
    half = x.shape[2] // 2
    return out["recon"].float()[:, :, 0 if centre_only else half] - x[:, :, half].float()


def residual_recon_error(residual: torch.Tensor) -> torch.Tensor:
    """-PSNR of each clip's centre-frame residual (``centre_residual``), the official evaluation's score."""
    return -psnr_from_mse(residual.pow(2).flatten(1).mean(1))


def centre_recon_error(out: dict, x: torch.Tensor, centre_only: bool = False) -> torch.Tensor:
    """-PSNR of the reconstructed centre frame of each clip (the official evaluation's score)."""
    return residual_recon_error(centre_residual(out, x, centre_only))


class ReconstructionMethod(Method):
    """A method whose model returns ``{"recon": clip}`` and is scored by its centre-frame error."""

    components = (RECON_ERROR,)

    def score_batch(self, model: nn.Module, x: torch.Tensor) -> ClipScores:
        out = model(x)
        return ClipScores(self.clip_components, centre_recon_error(out, x)[:, None])

    @torch.no_grad()
    def localise(self, model: nn.Module, x: torch.Tensor) -> Localisation:
        """The squared reconstruction error of the centre frame per pixel (summed over channels)."""
        return Localisation(centre_residual(model(x), x).pow(2).sum(1))


class SwinMethod(LoRAMixin, ReconstructionMethod):
    """A Video Swin model built from the shared ``model:`` section (encoder, decoder sizes), adapted
    with LoRA on the attention's q and v (seed 000 §4.4)."""

    adaptations = ("lora", "full")
    lora_targets = SWIN_QV
    shared_params = ("model",)

    @property
    def encoder_cfg(self) -> dict:
        return {k: tuple(v) if isinstance(v, list) else v for k, v in self.params["model"]["encoder"].items()}

    @property
    def decoder_cfg(self) -> dict:
        return dict(self.params["model"]["decoder"])

    def encoder_checkpoint(self):
        """A local pretrained Video Swin checkpoint (``model.pretrained_encoder``)."""
        weights = self.params["model"]["pretrained_encoder"]
        if not weights:
            return None
        from ..models.pretrained import load_pretrained

        return "pretrained_encoder", weights, load_pretrained
