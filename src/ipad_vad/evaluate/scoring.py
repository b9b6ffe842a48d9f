"""Run a model over a clip dataset and collect per-clip scores (the clip's centre frame):
reconstruction MSE and PSNR of the centre frame, the period position t_p and its confidence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from ..data.clip_dataset import ClipDataset


def psnr_from_mse(mse: torch.Tensor, value_range: float = 2.0) -> torch.Tensor:
    """PSNR in dB of images in [-1, 1] (range 2), as the official code does on [0, 1] images."""
    return 10 * torch.log10(value_range**2 / mse.clamp_min(1e-10))


def autocast(device: torch.device | str, amp: bool = True):
    """bf16 autocast on cuda (as in training), nothing elsewhere."""
    import contextlib

    if torch.device(device).type == "cuda" and amp:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def clip_errors(model: torch.nn.Module, x: torch.Tensor, amp: bool = True) -> dict[str, torch.Tensor]:
    """Per clip of a batch (N, 3, T, H, W): centre-frame reconstruction MSE and PSNR, and the period
    position t_p with its probability (-1 / NaN for models without a period head). The one place
    scores come from: evaluation, calibration, the registered pyfunc and streaming all call it."""
    half = x.shape[2] // 2
    with autocast(x.device, amp):
        out = model(x)
    mse = (out["recon"].float()[:, :, half] - x[:, :, half]).pow(2).flatten(1).mean(1)
    res = {"mse": mse, "psnr": psnr_from_mse(mse)}
    if "period_logits" in out:
        p = torch.softmax(out["period_logits"].float(), -1)
        res["t_p"], res["p_max"] = p.argmax(-1), p.max(-1).values
    else:
        res["t_p"], res["p_max"] = torch.full_like(mse, -1).long(), torch.full_like(mse, float("nan"))
    return res


@torch.no_grad()
def score_clips(model: torch.nn.Module, dataset: ClipDataset, batch_size: int = 16, device: str = "cpu",
                num_workers: int = 0, progress: bool = False, amp: bool = True) -> pd.DataFrame:
    model.eval().to(device)
    rows: dict[str, list] = {k: [] for k in ("video_index", "center", "label", "type", "mse", "psnr", "t_p", "p_max")}
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    it = loader
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(loader, desc="scoring", leave=False, disable=None)
    for batch in it:
        res = clip_errors(model, batch["clip"].to(device), amp)
        for k in ("mse", "psnr", "t_p", "p_max"):
            rows[k] += res[k].cpu().tolist()
        for k in ("video_index", "center", "label", "type"):
            rows[k] += batch[k].tolist()
    df = pd.DataFrame(rows)
    df["scene"] = [dataset.videos[i].scene for i in df.video_index]
    df["video"] = [dataset.videos[i].video for i in df.video_index]
    return df.sort_values(["video_index", "center"]).reset_index(drop=True)
