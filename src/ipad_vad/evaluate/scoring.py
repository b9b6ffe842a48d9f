"""Run a method's model over a clip dataset and collect its per-clip score components (each clip
scores its centre frame), plus the period position t_p where the method has a period head. The one
place scores come from: evaluation, calibration, the registered pyfunc and streaming all call
``score_batch``."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pandas as pd
import torch
from torch.utils.data import DataLoader

from ..data.clip_dataset import ClipDataset
from ..methods.base import ClipScores, Method


def autocast(device: torch.device | str, amp: bool = True):
    """bf16 autocast on cuda (as in training), nothing elsewhere."""
    if torch.device(device).type == "cuda" and amp:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def score_batch(method: Method, model: torch.nn.Module, x: torch.Tensor, amp: bool = True) -> ClipScores:
    with autocast(x.device, amp):
        res = method.score_batch(model, x)
    return ClipScores(res.names, res.values.float(), res.phase)


@torch.no_grad()
def score_clips(
    method: Method,
    model: torch.nn.Module,
    dataset: ClipDataset,
    batch_size: int = 16,
    device: str = "cpu",
    num_workers: int = 0,
    progress: bool = False,
    amp: bool = True,
) -> pd.DataFrame:
    """One row per clip: video_index, center, label, type, the method's clip-level components and,
    with a period head, t_p and the clip's annotated phase."""
    model.eval().to(device)
    names = method.clip_components
    rows: dict[str, list] = {k: [] for k in ("video_index", "center", "label", "type", *names, "t_p", "phase")}
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    it = loader
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(loader, desc=f"scoring {method.name}", leave=False, disable=None)
    for batch in it:
        res = score_batch(method, model, batch["clip"].to(device), amp)
        for j, n in enumerate(names):
            rows[n] += res.values[:, j].cpu().tolist()
        if res.phase is not None:
            rows["t_p"] += res.phase.cpu().tolist()
            rows["phase"] += batch["phase"].tolist()  # the annotated phase (NaN: unknown)
        for k in ("video_index", "center", "label", "type"):
            rows[k] += batch[k].tolist()
    if not rows["t_p"]:
        del rows["t_p"], rows["phase"]
    df = pd.DataFrame(rows)
    df["scene"] = [dataset.videos[i].scene for i in df.video_index]
    df["video"] = [dataset.videos[i].video for i in df.video_index]
    return df.sort_values(["video_index", "center"]).reset_index(drop=True)


@dataclass(frozen=True)
class ClipScorer:
    """``score_clips`` with a job's settings fixed once: the method, batch size, device, bf16 autocast and
    progress bar. Evaluation scores the test and the training footage with it, calibration the held-out,
    left-out and calibration footage; ``scorer(model, dataset)`` is one call of ``score_clips``."""

    method: Method
    batch_size: int
    device: str
    amp: bool
    progress: bool = False

    def __call__(self, model: torch.nn.Module, dataset: ClipDataset) -> pd.DataFrame:
        return score_clips(
            self.method, model, dataset, self.batch_size, self.device, progress=self.progress, amp=self.amp
        )
