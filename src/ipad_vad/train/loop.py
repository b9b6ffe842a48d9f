"""Plain-PyTorch training loop for every model of the project (IPAD-VAD, baselines, LoRA models).

* device ``auto`` picks cuda when present; on cuda the forward runs under bf16 autocast (AMP);
* seed control: each epoch reseeds torch with (seed, epoch) and draws its clip order from a
  generator seeded the same way, so a run resumed from a checkpoint continues exactly as an
  uninterrupted one would (tested);
* reproducible on CPU: training runs with ``threads`` intra-op threads (``training_threads``), a
  fixed count rather than the machine's cores, because CPU reductions (convolutions, matmuls, sums)
  split their work by thread count and round differently: with the same count, the same seed gives
  bit-identical weights on any machine of the same CPU kind (tested across 1 and 2 threads); another
  instruction set (AVX2 against AVX-512, another BLAS build) or a GPU can still differ in the last bits;
* the learning rate is ``lr`` throughout, or with ``schedule: one_cycle`` torch's OneCycleLR over the
  run's epochs (``make_scheduler``), stepped every optimiser step;
* a checkpoint (model, optimizer, scheduler, epoch, history) is written atomically after every epoch and picked
  up by ``fit(resume=True)``;
* the loss of a step is the method's (``loss_fn(model, batch)``, default: reconstruct the clip with
  ``train/losses.reconstruction_loss``; a prediction method passes its own);
* a progress bar per epoch, and callbacks ``on_step(step, metrics)`` / ``on_epoch_end(epoch, metrics)``
  for trackers (the MLflow hook lives outside the library core).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..data.sampling import FractionSampler
from ..io_utils import atomic_path
from ..models.period_head import official_period_targets, period_targets
from ..settings.adapt import Adapt
from ..settings.train import Train
from .losses import LossWeights, reconstruction_loss

_TRAIN = Train.model_fields  # the defaults are the schema's (settings/train.py): one place


@dataclass
class TrainSettings:
    """What one training run uses: the ``train:`` section (its meanings and defaults:
    settings/train.py) and the share of the training clips it sees (adapting: ``adapt:``)."""

    epochs: int = _TRAIN["epochs"].default
    batch_size: int = _TRAIN["batch_size"].default
    lr: float = _TRAIN["lr"].default
    schedule: str = _TRAIN["schedule"].default  # constant | one_cycle (``make_scheduler``)
    warmup: float = _TRAIN["warmup"].default
    weight_decay: float = _TRAIN["weight_decay"].default
    grad_clip: float = _TRAIN["grad_clip"].default
    num_workers: int = _TRAIN["num_workers"].default
    worker_start: str = _TRAIN["worker_start"].default  # workers persist across epochs
    seed: int = _TRAIN["seed"].default
    threads: int = _TRAIN["threads"].default  # torch.set_num_threads while training (0: torch's default)
    device: str = _TRAIN["device"].default
    amp: bool = _TRAIN["amp"].default  # bf16 autocast, used on cuda only
    fraction: float = 1.0  # share of the training clips (1/5 for the paper's few-shot fine-tuning)
    fraction_mode: str = Adapt.model_fields["fraction_mode"].default
    period_target: str = _TRAIN["period_target"].default
    loss: LossWeights = field(default_factory=LossWeights)
    plateau_min_drop: float = _TRAIN["plateau"].default.min_drop  # the stopping rule (``plateaued``); 0: off
    plateau_patience: int = _TRAIN["plateau"].default.patience

    @classmethod
    def from_params(cls, p: dict, **over) -> TrainSettings:
        """The ``train:`` section `p` checked by its schema (an unknown or bad key: a one-line ConfigError
        naming it), with `over` (adapt's epochs, lr, fraction; None: the section's) over it."""
        from ..params_schema import validate_section

        t = validate_section(Train, p, "train settings", "train")
        kw = {**dict(t), "loss": LossWeights(**dict(t.loss))}
        plateau = kw.pop("plateau")
        kw |= {"plateau_min_drop": plateau.min_drop, "plateau_patience": plateau.patience}
        return cls(**{**kw, **{k: v for k, v in over.items() if v is not None}})


@contextlib.contextmanager
def training_threads(threads: int) -> Iterator[None]:
    """Run the block with `threads` intra-op threads (0: leave torch's count), then restore the
    process's count: the same count gives the same weights whatever the machine's cores."""
    before = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def prepare_batch(batch: dict, n_classes: int | None, mode: str, device: torch.device) -> dict:
    out = {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}
    if n_classes:
        official = official_period_targets(out["center"], out["video_len"], n_classes)
        if mode == "official":
            out["period_target"] = official
        else:
            tgt = period_targets(out["phase"].float(), n_classes)
            out["period_target"] = torch.where(tgt < 0, official, tgt)
    return out


def plateaued(losses: list[float], min_drop: float, patience: int) -> bool:
    """Whether training has reached its plateau (issue 25: "loss curves that reach a plateau - write the
    criterion"): each of the last `patience` epochs' mean losses is less than `min_drop` (a share) below
    the best epoch before them,

        stop after epoch e  <=>  L_j > (1 - min_drop) * min_{i <= e - patience} L_i  for every j in (e - patience, e]

    Never with `min_drop` 0 or fewer than `patience` + 1 epochs."""
    if min_drop <= 0 or len(losses) <= patience:
        return False
    best = min(losses[:-patience])
    return all(loss > (1 - min_drop) * best for loss in losses[-patience:])


def make_scheduler(
    opt: torch.optim.Optimizer, schedule: str, lr: float, warmup: float, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The learning rate over a run of `total_steps` optimiser steps: None for ``constant`` (`lr`
    throughout); ``one_cycle``: torch's OneCycleLR with `lr` its peak, reached after the first `warmup`
    share of the steps from lr / 25, then cosine down to lr / 25e4 (the class's defaults). Adam's betas
    are left alone (``cycle_momentum`` off): the one-cycle momentum schedule is SGD's."""
    if schedule == "constant":
        return None
    if schedule == "one_cycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=lr, total_steps=max(int(total_steps), 2), pct_start=warmup, cycle_momentum=False
        )
    raise ValueError(f"train.schedule {schedule!r}: constant or one_cycle")


class Trainer:
    def __init__(
        self,
        model: nn.Module,
        settings: TrainSettings,
        n_classes: int | None = None,
        checkpoint: str | Path | None = None,
        on_step: Callable[[int, dict], None] | None = None,
        on_epoch_end: Callable[[int, dict], None] | None = None,
        progress: bool = True,
        loss_fn: Callable[[nn.Module, dict], tuple[torch.Tensor, dict]] | None = None,
    ):
        self.s = settings
        self.loss_fn = loss_fn or (lambda model, b: reconstruction_loss(model(b["clip"]), b, self.s.loss))
        self.device = resolve_device(settings.device)
        self.model = model.to(self.device)
        self.n_classes = n_classes
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.on_step, self.on_epoch_end, self.progress = on_step, on_epoch_end, progress
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.opt = torch.optim.Adam(params, lr=settings.lr, weight_decay=settings.weight_decay)
        self.epoch = 0
        self.history: list[dict] = []
        self.step = 0
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None  # made by fit: it needs the steps
        self._scheduler_state: dict | None = None  # a checkpoint's, until fit makes the scheduler

    # -- checkpoints ---------------------------------------------------------------------------
    def save(self) -> None:
        if self.checkpoint is None:
            return
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "epoch": self.epoch,
            "step": self.step,
            "history": self.history,
            "settings": asdict(self.s),
        }
        with atomic_path(self.checkpoint) as tmp:
            torch.save(state, tmp)

    def load(self) -> bool:
        if self.checkpoint is None or not self.checkpoint.is_file():
            return False
        state = torch.load(self.checkpoint, map_location=self.device, weights_only=False)
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self._scheduler_state = state.get("scheduler")
        self.epoch, self.step, self.history = state["epoch"], state["step"], state["history"]
        return True

    def _restore_scheduler(self, state: dict) -> None:
        """The checkpoint's place in the schedule, and the rate it had set (a new scheduler sets the rate
        of its first step on the optimizer, which the checkpoint's optimizer state had already passed)."""
        if state.get("total_steps") != getattr(self.scheduler, "total_steps", None):
            raise ValueError(
                f"{self.checkpoint}: made by a run of {state.get('total_steps')} scheduled steps, this run has "
                f"{getattr(self.scheduler, 'total_steps', None)} (other epochs or footage): delete it to start over"
            )
        self.scheduler.load_state_dict(state)
        for group, lr in zip(self.opt.param_groups, self.scheduler.get_last_lr()):
            group["lr"] = lr

    # -- training ------------------------------------------------------------------------------
    @property
    def plateaued(self) -> bool:
        """The history so far has reached the plateau of ``plateaued`` (a resumed run reads it too)."""
        losses = [h["loss"] for h in self.history]
        return plateaued(losses, self.s.plateau_min_drop, self.s.plateau_patience)

    def _autocast(self):
        if self.device.type == "cuda" and self.s.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def fit(self, dataset: Dataset, resume: bool = True) -> list[dict]:
        with training_threads(self.s.threads):
            return self._fit(dataset, resume)

    def _fit(self, dataset: Dataset, resume: bool) -> list[dict]:
        if resume:
            self.load()
        sampler = FractionSampler(dataset, self.s.fraction, self.s.fraction_mode, seed=self.s.seed, shuffle=True)
        if len(sampler) == 0:
            raise ValueError("no training clips (videos shorter than one clip?)")
        workers = self.s.num_workers
        loader = DataLoader(
            dataset,
            batch_size=self.s.batch_size,
            sampler=sampler,
            num_workers=workers,
            drop_last=False,
            pin_memory=self.device.type == "cuda",
            persistent_workers=workers > 0,
            multiprocessing_context=self.s.worker_start if workers > 0 else None,
        )
        self.scheduler = make_scheduler(
            self.opt, self.s.schedule, self.s.lr, self.s.warmup, self.s.epochs * len(loader)
        )
        if self.scheduler and self.step:  # resumed: a checkpoint without a schedule's place is refused
            self._restore_scheduler(self._scheduler_state or {})
        while self.epoch < self.s.epochs and not self.plateaued:
            torch.manual_seed(self.s.seed * 1_000_003 + self.epoch)  # dropout, drop-path
            sampler.set_epoch(self.epoch)  # the clip order is drawn in this process, per epoch
            self.model.train()
            sums: dict[str, float] = {}
            n = 0
            it = loader
            if self.progress:
                from tqdm.auto import tqdm

                # disable=None: a bar on a terminal, silence in logs (callers print one line per epoch)
                it = tqdm(
                    loader,
                    desc=f"epoch {self.epoch + 1}/{self.s.epochs}",
                    leave=False,
                    dynamic_ncols=True,
                    disable=None,
                )
            for batch in it:
                b = prepare_batch(batch, self.n_classes, self.s.period_target, self.device)
                with self._autocast():
                    loss, parts = self.loss_fn(self.model, b)
                if not math.isfinite(loss.item()):
                    raise FloatingPointError(f"loss is {loss.item()} at epoch {self.epoch + 1}, step {self.step}")
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                if self.s.grad_clip:
                    nn.utils.clip_grad_norm_(self.model.parameters(), self.s.grad_clip)
                self.opt.step()
                if self.scheduler:
                    self.scheduler.step()
                self.step += 1
                k = b["clip"].shape[0]
                n += k
                for name, v in parts.items():
                    sums[name] = sums.get(name, 0.0) + float(v) * k
                if self.on_step:
                    self.on_step(self.step, {name: float(v) for name, v in parts.items()})
                if self.progress:
                    it.set_postfix(loss=f"{float(parts['loss']):.4f}")
            self.epoch += 1
            metrics = {name: v / max(n, 1) for name, v in sums.items()}
            metrics["epoch"] = self.epoch
            self.history.append(metrics)
            metrics["plateau"] = self.plateaued  # the rule read on the history with this epoch
            self.save()
            if self.on_epoch_end:
                self.on_epoch_end(self.epoch, metrics)
        return self.history
