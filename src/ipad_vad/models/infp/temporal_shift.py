"""The temporal shift module (TSM, Lin et al. ICCV 2019) of INFP's spatio-temporal branch
(seed 001 eq. 15: F_st = f_e(I_v) + tsm(f_e(I_v))).

Over a sequence of per-frame features (N, T, C, H, W), the first ``C // shift_div`` channels of
every frame take the values of the next frame (shifted "left" in time, the official INFP code's
direction) and, with ``bidirectional``, the next ``C // shift_div`` channels those of the previous
frame (TSM's default); frames past either end contribute zeros; every other channel is unchanged.
The official INFP code shifts channel groups of the frames' features after a 1x1 convolution has
already mixed the frames; here the shift moves whole frames' channels, as TSM is defined."""

from __future__ import annotations

import torch


def temporal_shift(x: torch.Tensor, shift_div: int = 8, bidirectional: bool = True) -> torch.Tensor:
    """Shift ``1 / shift_div`` of the channels one frame back (and as many forward): (N, T, C, H, W)."""
    if x.ndim != 5:
        raise ValueError(f"temporal_shift: expected (N, T, C, H, W), got shape {tuple(x.shape)}")
    fold = x.shape[2] // shift_div
    out = x.clone()
    if fold == 0:
        return out
    out[:, :-1, :fold] = x[:, 1:, :fold]  # from the next frame
    out[:, -1, :fold] = 0
    if bidirectional:
        out[:, 1:, fold : 2 * fold] = x[:, :-1, fold : 2 * fold]  # from the previous frame
        out[:, 0, fold : 2 * fold] = 0
    return out
