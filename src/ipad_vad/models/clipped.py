"""Pixels clipped at white or black are censored observations, not values (issue 26).

A hall light switched on by a quarter raises every pixel by a quarter: the brightest parts of the view
(a lit floor, a white housing) reach 255 and stay there. The descriptor's normalisation per frame
(zero mean, unit standard deviation) removes a gain, but only where the camera still measured it: over
a clipped region the query is darker than the gain says, and the mean and the standard deviation of
the frame move with the share clipped, so every edge of the view differs from the bank's by contrast.
On the demo's devices the reference detector's score follows the share of pixels clipped at white
(``benchmarks/diagnose_light_switch.py``: Spearman 0.87 over 18 stretches; docs/alerts.md).

What a clipped pixel says is a bound: its true brightness is at least (white) or at most (black) what
was recorded. So a query frame q with clipped descriptor elements is compared with a bank frame b in
two steps:

1. **Levels from what was measured.** U: the elements of the frame whose area held no clipped pixel
   (of that channel). The bank frame is brought to the query's levels over U, matching mean and
   standard deviation there,

       b'_p = (b_p - m_U(b)) / s_U(b) * s_U(q) + m_U(q),

   m_U, s_U the mean and standard deviation over U (channels and pixels). A gain g on the whole view
   scales q over U by g, which the normalisation removes whatever U is; a real deviation covers a few
   cells and barely moves m_U, s_U.
2. **A bound is a one-sided comparison.** The residual is r = q - b' over U; at an element clipped at
   white r = max(0, q - b') (the bank explains it if it is at least as bright as what was recorded: a
   normal bright region that clipped; something bright where the bank is dark still counts); at black
   r = min(0, q - b'); at an element whose area held both, r = 0 (no bound is known).

A frame without clipped elements is compared as before, r = q - b, bit for bit: the censoring costs
nothing on footage that clips nothing. The bank's own clipped pixels are not known (the bank keeps
descriptors only): its frames count as measured.

``clipped_flags`` marks the elements of the descriptor (``ClipDescriptor``: frames evenly spaced, each
area-downsampled) whose area held a pixel within ``within`` grey levels of white (bit 1) or black
(bit 2), from the clip's sampled frames in [-1, 1] (uint8 v as v / 127.5 - 1). Compressed video rings
around a clipped region, so a few levels below 255 count as clipped too (``within``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

WHITE, BLACK = 1, 2  # bits of clipped_flags
LEVELS = 255  # uint8 grey levels: v -> v / 127.5 - 1
STD_FLOOR = 1e-3  # as ClipDescriptor's normalisation: a flat frame's standard deviation


def clipped_flags(
    f: torch.Tensor, size: tuple[int, int], within: int, used: torch.Tensor | None = None
) -> torch.Tensor:
    """Per descriptor element of a clip's sampled frames f (N, frames, C, H, W) in [-1, 1]
    (``ClipDescriptor.sampled``: evenly spaced over the clip; each area-downsampled to `size` in the
    descriptor): WHITE | BLACK bits where its area of its frame held a pixel of that channel within
    `within` levels of white | black; (N, frames * C * h * w) uint8, flattened as the descriptor. `used`:
    only these of the frames are read (the others 0: a score that never looks at them need not pay)."""
    N, frames, C, H, W = f.shape
    used = torch.arange(frames, device=f.device) if used is None else used.to(f.device)
    f = f.index_select(1, used).reshape(N * len(used), C, H, W)
    white = (LEVELS - within) / (LEVELS / 2) - 1 - 1e-6
    black = within / (LEVELS / 2) - 1 + 1e-6
    # an area holds a clipped pixel where the mean of the pixels' clipped indicator is above 0 (an average
    # pool, as the descriptor's own: faster than a max pool of the values)
    held = F.adaptive_avg_pool2d(torch.cat([f >= white, f <= black], 1).float(), size) > 0
    flags = held[:, :C].to(torch.uint8) * WHITE + held[:, C:].to(torch.uint8) * BLACK
    out = flags.new_zeros(N, frames, C, *size)
    out[:, used] = flags.reshape(N, len(used), C, *size)
    return out.reshape(N, -1)


def matched_levels(q: torch.Tensor, b: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
    """Bank maps b (..., k, F, C, h, w) brought to the levels of query maps q (..., 1, F, C, h, w) over
    the elements the query's `flags` (..., 1, F, C, h, w; ``clipped_flags``) leave measured (module
    docstring, step 1); b as it is in frames with no clipped element."""
    free = flags == 0
    dims = (-3, -2, -1)
    n = free.sum(dims, keepdim=True).clamp_min(2)

    def levels(v):  # mean and standard deviation over the measured elements U
        m = (v * free).sum(dims, keepdim=True) / n
        s = ((v - m).pow(2) * free).sum(dims, keepdim=True).div(n - 1).sqrt().clamp_min(STD_FLOOR)
        return m, s

    (mq, sq), (mb, sb) = levels(q), levels(b)
    clipped_frame = (~free).flatten(-3).any(-1)[..., None, None, None]
    return torch.where(clipped_frame, (b - mb) / sb * sq + mq, b)


def bounds(flags: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(lower, upper) bounds of the residual per element of the query's `flags` (module docstring, step
    2): 0 from below at white, 0 from above at black, 0 both ways where both, unbounded elsewhere; so
    that ``residual.clamp(lower, upper)`` censors it (an element without a bound unchanged)."""
    white, black = (flags & WHITE) > 0, (flags & BLACK) > 0
    inf = torch.tensor(float("inf"), device=flags.device)
    return torch.where(white, 0.0, -inf), torch.where(black, 0.0, inf)


def censored_residual(q: torch.Tensor, b: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
    """The residual of query maps q (..., 1, F, C, h, w) against bank maps b (..., k, F, C, h, w), the
    query's clipped elements `flags` (..., 1, F, C, h, w; ``clipped_flags``) censored (module
    docstring): q - b in frames with no clipped element, else q - b' with its bounds one-sided."""
    lower, upper = bounds(flags)
    return (q - matched_levels(q, b, flags)).clamp(lower, upper)
