"""The period head fitted to the phase on the frozen encoder (issue 25: "a period head that is a clock").

Trained jointly with the reconstruction (``train/losses.py``: ``period_ce`` at 0.02, the official
code's weight) for the few hundred optimiser steps a CPU run gives, f_p (seed 000 eq. 2) stays near
chance: t_p within ±5 % of the cycle for 12 % of normal test clips (chance 10 %). Its features know
the phase (linear probes on the demo base's encoder: 66 to 90 % within ±5 %; docs/quality.md §8), the
head has not learnt to read it. So after the encoder's training, and again after each device's
adaptation, the head alone is fitted on the encoder's features of the same training clips, with the
clips' annotated (or estimated) phases as targets (``train/loop.prepare_batch``) spread over the
neighbouring classes by a circular Gaussian (``period_soft_targets``): a clip one class off is
nearly right, which one-hot cross-entropy over 200 classes does not say. The encoder is not touched,
so the reconstruction and its memory keep their training; only P_s and t_p change.

When it stops (issue 25: "loss curves that reach a plateau - write the criterion"). The soft targets
have an entropy H of their own (about 2.11 nats at sigma 2), the least their cross-entropy can reach;
the loss minus H is the KL divergence of the head's distribution from the targets. The fit stops at
the first step where that divergence is at most ``tol`` nats, or after ``steps``. On the demo base
(3,246 clips, a reset head; ``benchmarks/diagnose_head_fit.py``, ``docs/quality.md`` §16) at rate 1e-3 it
is 0.12 after 300 steps, 0.048 after 500, 0.015 after 1,000 and 0.006 after 2,000.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from ..data.clip_dataset import ClipDataset
from ..data.sampling import FractionSampler
from ..models.period_head import period_soft_targets, phase_accuracy
from .loop import TrainSettings, prepare_batch, resolve_device, training_threads


@torch.no_grad()
def head_inputs(
    model: nn.Module,
    dataset,
    settings: TrainSettings,
    n_classes: int,
    pool: tuple[int, int, int],
    stride: int = 0,
    fraction: float | None = None,
):
    """(the encoder's features of the training clips pooled to the head's grid, their period targets):
    the share of each recording the trainer saw (``settings.fraction``; `fraction` instead when given),
    in order, with a clip starting every `stride` frames (0: the dataset's own)."""
    if stride and isinstance(dataset, ClipDataset) and dataset.stride != stride:
        dataset = ClipDataset(dataset.videos, dataset.clip_len, stride)
    device = resolve_device(settings.device)
    share = settings.fraction if fraction is None else fraction
    sampler = FractionSampler(dataset, share, settings.fraction_mode, seed=settings.seed, shuffle=False)
    loader = DataLoader(dataset, batch_size=settings.batch_size, sampler=sampler, num_workers=0)
    model.eval().to(device)
    feats, targets = [], []
    for batch in loader:
        b = prepare_batch(batch, n_classes, settings.period_target, device)
        # pooled here already: the head's own pooling to the same grid leaves them as they are
        feats.append(F.adaptive_avg_pool3d(model.encoder(b["clip"]).float(), pool))
        targets.append(b["period_target"])
    return torch.cat(feats), torch.cat(targets)


def fit_period_head(
    model: nn.Module,
    dataset,
    settings: TrainSettings,
    n_classes: int,
    steps: int,
    lr: float,
    sigma: float,
    stride: int = 0,
    fraction: float | None = None,
    tol: float = 0.0,
) -> dict:
    """Fit ``model.period_head`` (its trainable parameters; a LoRA model's trainable copy) with at most
    `steps` full-batch Adam steps at `lr` against soft targets of width `sigma` classes, on clips every
    `stride` frames (``head_inputs``, pooled to the head's own grid), on the trainer's share of each
    recording or `fraction` of it, stopping once the loss is within `tol` nats of the targets' own
    entropy (0: all `steps`); the rest of the model is left as it is.
    Returns what it did: clips, steps taken, whether it stopped at `tol`, the loss, its divergence
    from the targets and the training clips' accuracy."""
    head = model.period_head  # through LoRA's wrapper its attributes are those of the trainable copy
    with training_threads(settings.threads):
        x, target = head_inputs(model, dataset, settings, n_classes, tuple(head.pool.output_size), stride, fraction)
        known = target >= 0
        # channels last: the head's 1x1x1 projection reads each position's channels as one row of a matrix
        # product - a step 2.5x faster on this CPU than in PyTorch's default layout, the same divergence
        # to 1e-3 (not bit for bit; benchmarks/diagnose_head_fit.py, docs/quality.md §16)
        x, target = x[known].contiguous(memory_format=torch.channels_last_3d), target[known]
        params = [p for p in head.parameters() if p.requires_grad]
        if not len(target) or not params or not steps:
            return {"clips": int(len(target)), "steps": 0}
        soft = period_soft_targets(target, n_classes, sigma)
        floor = float(-(soft * soft.clamp_min(torch.finfo(soft.dtype).tiny).log()).sum(-1).mean())
        torch.manual_seed(settings.seed)
        opt = torch.optim.Adam(params, lr=lr)
        head.train()
        taken, converged = 0, False
        while taken < steps:
            loss = F.cross_entropy(head(x), soft)  # soft (probability) targets
            if float(loss.detach()) - floor <= tol:  # checked before the step: the weights kept are the ones measured
                converged = True
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            taken += 1
        head.eval()
        with torch.no_grad():
            logits = head(x)
            loss = F.cross_entropy(logits, soft)
            t_p = logits.argmax(-1).cpu().numpy()
        classes = target.cpu().numpy()
        acc = phase_accuracy(t_p, (classes + 0.5) / n_classes, np.zeros(len(classes)), n_classes)
    return {
        "clips": int(len(target)),
        "steps": taken,
        "converged": converged,
        "loss": float(loss),
        "divergence": float(loss) - floor,
        "train_exact_class": acc["exact_class"],
        "train_within_tolerance": acc["within_tolerance"],
    }
