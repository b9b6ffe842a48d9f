"""``train:``: pretraining and from-scratch training by the shared trainer (train/loop.py, whose
``TrainSettings`` is this section plus the share of clips a run sees)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ._base import Float, NonNeg, NonNegFloat, Pos, PosFloat, Section


class Loss(Section):
    entropy: NonNegFloat = 0.0002  # memory-weight entropy (official code)
    period_ce: NonNegFloat = 0.02  # period head cross-entropy (official code)


class Plateau(Section):
    """When training stops before ``epochs`` (train/loop.py, ``plateaued``): once the mean loss of each of
    the last ``patience`` epochs is less than ``min_drop`` (a share) below the best epoch before them."""

    min_drop: NonNegFloat = 0.0  # 0: off, every epoch runs
    patience: Pos = 1


class Train(Section):
    epochs: NonNeg = 5  # with plateau.min_drop > 0: the most epochs
    batch_size: Pos = 8
    lr: PosFloat = 1e-4  # one_cycle: the peak rate
    # the learning rate over a run (train/loop.py, ``make_scheduler``): constant | one_cycle = torch's
    # OneCycleLR over the run's epochs x steps (up from lr / 25 over the first `warmup` share of the steps,
    # cosine down to lr / 25e4 at the end; Adam's betas left alone)
    schedule: Literal["constant", "one_cycle"] = "constant"
    warmup: Annotated[Float, Field(gt=0, lt=1)] = 0.1  # one_cycle: share of the steps the rate rises over
    weight_decay: NonNegFloat = 0.0
    grad_clip: NonNegFloat = 0.0  # 0: off
    num_workers: NonNeg = 0
    # how DataLoader workers start: "fork" workers die inside a Prefect task run, "spawn" is safe
    worker_start: Literal["spawn", "fork", "forkserver"] = "spawn"
    seed: int = 0
    # intra-op threads while training: results depend on the count, so it is fixed; 0 = all cores
    threads: NonNeg = 2
    device: str = "auto"  # auto: cuda when present, else cpu
    amp: bool = True  # bf16 autocast, on cuda only
    period_target: Literal["annotation", "official"] = "annotation"  # annotation: official where a video has none
    loss: Loss = Loss()
    plateau: Plateau = Plateau()
