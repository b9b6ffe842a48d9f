"""A local error score: the worst small region of a residual image, not its mean over the frame
(issue 12). An anomaly that covers 1-2 % of the frame (a wrong part, a missing label) changes the
frame-mean error by 1-2 % of its size, less than lighting, a light spot or jitter change it over the
whole frame; the mean of the squared residual inside the worst cell of ``cell`` x ``cell`` pixels
changes by the whole of it.

Light that falls on a region (a light spot, a local shadow, drift that is not uniform) adds about the
same value to every channel of every pixel nearby. With ``offset_cell`` > 0 that local offset is
taken out of the residual before the cells are scored: the residual's mean over channels and over
each ``offset_cell`` x ``offset_cell`` block is subtracted from every channel of the block. What
remains is structure and colour (a blue part on grey and a cream part on grey differ in their
channel pattern, which the offset does not remove). On the demo data this removal raised the mean
AUC of the reference detector by about 1 point over the local score alone (docs/quality-benchmark.md).

    e(r) = max_c  1/|c| * sum_{p in c} || r_p - o(p) ||^2,   o(p) = mean over channels and the
                                                               offset block of p of r

r: residual (..., C, H, W); the result has the leading shape (...).

A deviation that only passes through a place - a person walking across the view, a bird, a flicker -
holds each cell for a frame or two; a wrong, missing or stuck part holds its cells while it lasts.
``temporal_opening`` keeps of each cell's errors over a clip's frames (e_f) only what the cell holds
for ``length`` consecutive frames, a grey-scale morphological opening along time with a flat window
of ``length`` frames:

    o_f = max_{W contains f} min_{f' in W} e_{f'},   W: ``length`` consecutive frames

so o <= e, o = e where the error holds (a constant run of ``length`` frames or longer is unchanged),
and a peak narrower than the window is cut down to its neighbours' level.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def remove_local_offset(residual: torch.Tensor, offset_cell: int) -> torch.Tensor:
    """The residual minus its mean over channels and each ``offset_cell`` block (a local light offset)."""
    if offset_cell <= 0:
        return residual
    *lead, C, H, W = residual.shape
    _check_divides(H, W, offset_cell, "offset_cell")
    r = residual.reshape(-1, C, H, W)
    o = F.avg_pool2d(r.mean(1, keepdim=True), offset_cell)
    o = o.repeat_interleave(offset_cell, 2).repeat_interleave(offset_cell, 3)
    return (r - o).reshape(*lead, C, H, W)


def cell_errors(residual: torch.Tensor, cell: int, offset_cell: int = 0) -> torch.Tensor:
    """Mean squared residual (summed over channels) of every ``cell`` x ``cell`` block:
    (..., C, H, W) -> (..., H // cell, W // cell)."""
    *lead, C, H, W = residual.shape
    _check_divides(H, W, cell, "cell")
    r = remove_local_offset(residual.float(), offset_cell).reshape(-1, C, H, W)
    e = F.avg_pool2d(r.pow(2).sum(1, keepdim=True), cell)
    return e.reshape(*lead, H // cell, W // cell)


def local_error(residual: torch.Tensor, cell: int, offset_cell: int = 0) -> torch.Tensor:
    """The worst cell's mean squared residual: (..., C, H, W) -> (...)."""
    return cell_errors(residual, cell, offset_cell).flatten(-2).amax(-1)


def temporal_opening(errors: torch.Tensor, dim: int, length: int) -> torch.Tensor:
    """The opening of `errors` along `dim` with a window of `length` frames (module docstring); the
    shape is kept. ``length`` 1: unchanged; longer than the frames there are: the window is all of them."""
    if length <= 1:
        return errors
    x = errors.movedim(dim, -1)
    n = min(int(length), x.shape[-1])
    eroded = x.unfold(-1, n, 1).amin(-1)  # ..., F - n + 1: each window's minimum
    padded = F.pad(eroded, (n - 1, n - 1), value=float("-inf"))
    return padded.unfold(-1, n, 1).amax(-1).movedim(-1, dim)  # each frame: its best window


def _check_divides(H: int, W: int, cell: int, name: str) -> None:
    if cell < 1 or H % cell or W % cell:
        raise ValueError(f"{name}={cell} must divide the frame size {H}x{W} (set it in params.yaml)")
