"""The IPAD-VAD training loss (official code): MSE reconstruction + w_ent * entropy of the memory
weights + w_ce * cross-entropy of the period head against the clip's position in its cycle.
Terms a model does not produce (no memory, no period head) are simply absent."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..models.period_memory import memory_entropy


@dataclass(frozen=True)
class LossWeights:
    entropy: float = 0.0002
    period_ce: float = 0.02


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
