"""IPAD-VAD (seed 000 §4, Fig. 4): Video Swin encoder -> period head f_p and period memory ->
I3D-style decoder reconstructing the input clip.

With ``use_memory=False`` it is the "without memory" ablation of Table 4 (the period head still runs,
so sliding-window inspection keeps working); the "without sliding window" ablation is a scoring
setting, not a model change.
"""

from __future__ import annotations

import torch
from torch import nn

from .i3d_decoder import I3DDecoder
from .period_head import PeriodHead
from .period_memory import PeriodMemory
from .video_swin import VideoSwinEncoder


class IPADVAD(nn.Module):
    def __init__(self, encoder: dict, period: dict, memory: dict, decoder: dict):
        """Sizes from the settings (each key given): ``model.encoder``, ``methods.ipad_vad.period`` and
        ``.memory`` (their defaults: methods/ipad_vad.py), ``model.decoder`` (settings/model.py)."""
        super().__init__()
        self.encoder = VideoSwinEncoder(**encoder)
        dim = self.encoder.out_dim
        self.n_classes = period["n_classes"]
        self.period_head = PeriodHead(
            dim, self.n_classes, period["head_hidden"], tuple(period["pool"]), period["channels"]
        )
        self.memory = None
        if memory["use"]:
            self.memory = PeriodMemory(
                memory["size"],
                dim,
                self.n_classes,
                memory["softmax_over"],
                memory["boost_radius"],
                memory["shrink_threshold"],
            )
        self.decoder = I3DDecoder(dim, len(self.encoder.stages) - 1, self.encoder.patch, min_dim=decoder["min_dim"])

    def forward(self, x: torch.Tensor, frames: tuple[int, int] | None = None) -> dict:
        """Period logits and t_p, memory weights and the reconstructed clip - only its frames [a, b)
        with `frames` = (a, b) (scoring needs the centre frame alone)."""
        f = self.encoder(x)  # F: (B, C, D, h, w)
        logits = self.period_head(f)
        probs = torch.softmax(logits, dim=-1)  # P_s
        out = {"period_logits": logits, "t_p": probs.argmax(-1)}
        if self.memory is not None:
            B, C, D, h, w = f.shape
            tokens = f.flatten(2).transpose(1, 2)  # F̂_in: (B, N=D*h*w, C)
            read, w_hat, _ = self.memory(tokens, probs)
            f = read.transpose(1, 2).reshape(B, C, D, h, w)
            out["mem_weights"] = w_hat
        out["recon"] = self.decoder(f, x.shape[2:], frames)
        return out
