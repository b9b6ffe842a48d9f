"""Spatio-temporal pseudo-anomalies (seed 002): A^s on frames and A^t on optical flow trained with PAs
to output the normal input, and a discriminator D between normal clips and spatial PAs
(``models/spatio_temporal_pa.py``; the PAs in ``pseudo/``).

Training (eq. 4, 5 and §3.5): each clip of a batch becomes a spatial PA with probability p_s (or a
frame-order PA with p_order) for A^s, its flow a flow-mixup PA with p_t for A^t
(``methods.pseudo_anomaly.pseudo_anomalies``); loss = MSE(A^s(input), normal clip) + MSE(A^t(input
flow), normal flow) + ``disc_weight`` * BCE(D, spatial PA or not). The flow of a clip is computed from
its frames with the prepare stage's function and ``optical_flow`` settings (``pseudo/temporal.py``
says why), scaled by ``flow_scale``.

Score components (higher = more anomalous), the paper's three indicators and a local one:

* ``recon_error`` (omega_1): -PSNR of A^s's reconstruction of the clip's centre frame (the 9th of 16, as the paper);
* ``flow_error`` (omega_2): 10 log10 of the squared error of A^t's reconstruction of the flow into the
  centre frame;
* ``semantic`` (omega_3): D's probability that the clip is a PA;
* ``recon_local``: the worst cell of the centre frame's residual (``models/local_error.py``), reported alone
  unless weighted.

Eq. 6 aggregates the indicators with weights eta tuned per dataset; no labels may be used here, so the
weights (``weights``) are fixed: each component normalised (scene min-max for the AUC protocols, the
z-score on held-out normal footage for alerts, ``alerts/calibration.py``) and averaged with eta.
Adapted to a device in full (small 3D CNNs, as conAE). Ablation: ``pseudo_anomaly_baseline``, the
same networks without PAs (the paper's "Baseline (without PAs)").
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from ..models.local_error import local_error
from ..models.spatio_temporal_pa import SpatioTemporalPA, STPAConfig
from ..preprocess.optical_flow import clip_flow
from ..pseudo.mixing import ORDER, SPATIAL, to_uint8, torch_rng
from . import register
from ._reconstruction import RECON_ERROR, centre_residual, residual_recon_error
from .base import Channels, ClipScores, Method, NonNegInt, PosInt, ScoreComponent, WeightedSettings

FLOW_ERROR = ScoreComponent("flow_error", "reconstruction error of the flow into the centre frame (10 log10 MSE)")
SEMANTIC = ScoreComponent("semantic", "discriminator's probability that the clip is a pseudo-anomaly")
RECON_LOCAL = ScoreComponent("recon_local", "worst cell of the centre frame's reconstruction residual")
COMPONENTS = Literal["recon_error", "flow_error", "semantic", "recon_local"]


class PseudoAnomalySettings(WeightedSettings):
    channels: Channels = [16, 32, 64, 64]  # A^s
    flow_channels: Channels = [16, 32, 64]  # A^t
    disc_hidden: PosInt = 64  # D's hidden layer
    features_checkpoint: str = ""  # D on a local TorchScript feature extractor (clips -> (N, D)); never downloaded
    flow_scale: Annotated[float, Field(gt=0)] = 1.0  # flow fields (pixels at optical_flow.size) divided by this
    disc_weight: Annotated[float, Field(ge=0)] = 1.0  # D's cross-entropy beside the reconstruction losses
    cell: PosInt = 8  # recon_local: cells of the centre frame's residual ...
    offset_cell: NonNegInt = 16  # ... its local light offset removed over blocks this size first (0: off)
    weights: dict[COMPONENTS, Annotated[float, Field(ge=0)]] = {
        "recon_error": 1.0,
        "flow_error": 1.0,
        "semantic": 1.0,
    }  # eta of eq. 6


@register
class PseudoAnomalyMethod(Method):
    name = "pseudo_anomaly"
    label = "Spatio-temporal PAs"
    components = (RECON_ERROR, FLOW_ERROR, SEMANTIC, RECON_LOCAL)
    adaptations = ("full",)
    shared_params = ("optical_flow", "pseudo_anomalies")
    reads_flow = True
    Settings = PseudoAnomalySettings

    def __init__(self, params: dict):
        super().__init__(params)
        s = self.settings
        self.config = STPAConfig(
            tuple(s.channels),
            tuple(s.flow_channels),
            s.disc_hidden,
            s.features_checkpoint,
            (self.clip_len, *self.params["clip"]["size"]),
        )
        self.flow_scale, self.disc_weight, self.cell, self.offset_cell = (
            s.flow_scale,
            s.disc_weight,
            s.cell,
            s.offset_cell,
        )
        flow = self.params["optical_flow"]
        self.flow_method, self.flow_size = flow["method"], tuple(flow["size"])

    def build(self) -> nn.Module:
        return SpatioTemporalPA(self.config)

    def flows(self, x: torch.Tensor) -> torch.Tensor:
        """The scaled optical flow (N, 2, T - 1, h, w) of clips (N, 3, T, H, W) in [-1, 1]."""
        f = np.stack([clip_flow(to_uint8(c), self.flow_method, self.flow_size) for c in x])  # (N, T-1, h, w, 2)
        return torch.from_numpy(f / self.flow_scale).permute(0, 4, 1, 2, 3).to(x.device, torch.float32)

    def training_loss(self, model: nn.Module, batch: dict, settings) -> tuple[torch.Tensor, dict]:
        x = batch["clip"]
        flow = self.flows(x)
        rng = torch_rng()
        x_in, kinds = self.mixer.frames(x, rng) if self.mixer else (x, np.zeros(len(x), int))
        flow_in = self.mixer.flows(flow, rng)[0] if self.mixer and self.pseudo_mix.temporal > 0 else flow
        out = model(x_in, flow_in)
        l_s = F.mse_loss(out["recon"].float(), x.float())  # eq. 4: the normal clip, whatever the input
        l_t = F.mse_loss(out["flow_recon"].float(), flow)  # eq. 5
        total, parts = l_s + l_t, {"mse": l_s.detach(), "flow_mse": l_t.detach()}
        seen = torch.from_numpy(kinds != ORDER).to(x.device)  # D: normal (0) against spatial PAs (1)
        if self.disc_weight > 0 and (kinds == SPATIAL).any():
            target = torch.from_numpy((kinds == SPATIAL).astype(np.float32)).to(x.device)
            l_d = F.binary_cross_entropy_with_logits(out["logit"].float()[seen], target[seen])
            total = total + self.disc_weight * l_d
            parts["disc_bce"] = l_d.detach()
        parts["loss"] = total.detach()
        return total, parts

    def score_batch(self, model: nn.Module, x: torch.Tensor) -> ClipScores:
        flow = self.flows(x)
        out = model(x, flow)
        c = x.shape[2] // 2
        residual = centre_residual(out, x)
        flow_mse = (out["flow_recon"].float()[:, :, c - 1] - flow[:, :, c - 1]).pow(2).flatten(1).mean(1)
        vals = {
            "recon_error": residual_recon_error(residual),
            "flow_error": 10 * torch.log10(flow_mse.clamp_min(1e-10)),
            "semantic": torch.sigmoid(out["logit"].float()),
            "recon_local": local_error(residual, self.cell, self.offset_cell),
        }
        return ClipScores(self.clip_components, torch.stack([vals[n] for n in self.clip_components], 1))


@register
class PseudoAnomalyBaseline(PseudoAnomalyMethod):
    """Seed 002's "Baseline (without PAs)" (its Tables 1, 2): the networks trained on normal clips only,
    scored by the two reconstruction errors (D, never shown a PA, is left out). Settings:
    ``methods.pseudo_anomaly`` with ``methods.pseudo_anomaly_baseline`` merged over it."""

    name = "pseudo_anomaly_baseline"
    label = "Spatio-temporal AEs without PAs"
    variant_of = "pseudo_anomaly"
    overrides = {"pseudo_anomalies": {"spatial": 0.0, "temporal": 0.0, "order": 0.0}, "weights": {"semantic": 0.0}}
