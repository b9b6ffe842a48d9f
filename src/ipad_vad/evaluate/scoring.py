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


@torch.no_grad()
def score_clips(model: torch.nn.Module, dataset: ClipDataset, batch_size: int = 16, device: str = "cpu",
                num_workers: int = 0, progress: bool = False) -> pd.DataFrame:
    model.eval().to(device)
    rows: dict[str, list] = {k: [] for k in ("video_index", "center", "label", "type", "mse", "psnr", "t_p", "p_max")}
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    it = loader
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(loader, desc="scoring", leave=False, disable=None)
    half = dataset.clip_len // 2
    for batch in it:
        x = batch["clip"].to(device)
        out = model(x)
        err = (out["recon"].float()[:, :, half] - x[:, :, half]).pow(2).flatten(1).mean(1)
        rows["mse"] += err.cpu().tolist()
        rows["psnr"] += psnr_from_mse(err).cpu().tolist()
        if "period_logits" in out:
            p = torch.softmax(out["period_logits"].float(), -1)
            rows["t_p"] += p.argmax(-1).cpu().tolist()
            rows["p_max"] += p.max(-1).values.cpu().tolist()
        else:
            rows["t_p"] += [-1] * len(x)
            rows["p_max"] += [float("nan")] * len(x)
        for k in ("video_index", "center", "label", "type"):
            rows[k] += batch[k].tolist()
    df = pd.DataFrame(rows)
    df["scene"] = [dataset.videos[i].scene for i in df.video_index]
    df["video"] = [dataset.videos[i].video for i in df.video_index]
    return df.sort_values(["video_index", "center"]).reset_index(drop=True)
