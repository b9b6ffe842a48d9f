"""Training losses. Reconstruction (IPAD-VAD, official code): MSE reconstruction + w_ent * entropy of the memory
weights + w_ce * cross-entropy of the period head against the clip's position in its cycle.
Terms a model does not produce (no memory, no period head) are simply absent. Prediction (INFP,
seed 001 eq. 5-7): alpha * MSE + (1 - alpha) * the gradient loss of the predicted frame."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..models.period_memory import memory_entropy
from ..settings.train import Loss


@dataclass(frozen=True)
class LossWeights:  # train.loss (its meanings and defaults: settings/train.py)
    entropy: float = Loss.model_fields["entropy"].default
    period_ce: float = Loss.model_fields["period_ce"].default


def reconstruction_loss(out: dict, batch: dict, weights: LossWeights) -> tuple[torch.Tensor, dict]:
    x = batch["clip"]
    mse = F.mse_loss(out["recon"].float(), x.float())
    total, parts = mse, {"mse": mse.detach()}
    if "mem_weights" in out and weights.entropy:
        ent = memory_entropy(out["mem_weights"].float())
        total = total + weights.entropy * ent
        parts["entropy"] = ent.detach()
    if "period_logits" in out and "period_target" in batch and weights.period_ce:
        tgt = batch["period_target"]
        if (tgt >= 0).any():
            ce = F.cross_entropy(out["period_logits"].float(), tgt, ignore_index=-1)
            total = total + weights.period_ce * ce
            parts["period_ce"] = ce.detach()
    parts["loss"] = total.detach()
    return total, parts


def gradient_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """INFP's gradient constraint (seed 001 eq. 6): the absolute difference of the absolute image
    gradients of target P and prediction P_hat along both axes, over every pixel pair with a
    neighbour below / to the right. The paper sums over (i, j); this is the mean (as the official code
    takes it), so that the weight alpha does not depend on the frame size. Images (..., H, W)."""
    pred, target = pred.float(), target.float()
    dy = ((target[..., 1:, :] - target[..., :-1, :]).abs() - (pred[..., 1:, :] - pred[..., :-1, :]).abs()).abs()
    dx = ((target[..., :, 1:] - target[..., :, :-1]).abs() - (pred[..., :, 1:] - pred[..., :, :-1]).abs()).abs()
    return dy.mean() + dx.mean()


def prediction_loss(pred: torch.Tensor, target: torch.Tensor, alpha: float) -> tuple[torch.Tensor, dict]:
    """alpha * L_2 + (1 - alpha) * L_2d of a predicted frame (seed 001 eq. 5-7)."""
    l2 = F.mse_loss(pred.float(), target.float())  # eq. 5
    grad = gradient_loss(pred, target)  # eq. 6
    total = alpha * l2 + (1 - alpha) * grad  # eq. 7
    return total, {"mse": l2.detach(), "gradient": grad.detach(), "loss": total.detach()}
