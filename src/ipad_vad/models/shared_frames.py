"""The frames a batch of clips shares: a video's consecutive clips (stride s shorter than the clip)
repeat the previous clip's frames shifted by s, so a model whose per-frame part depends on the frame
alone (and a per-clip key, such as a camera) computes that part once per distinct frame and gathers
it back - the same values, computed once (evaluation scores a video's clips at stride 1)."""

from __future__ import annotations

import torch


def shared_frames(frames: torch.Tensor, keys: list | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Distinct frames of clips' frames (N, t, ...): a clip whose first t - s frames equal the previous
    clip's last t - s (and whose key equals that clip's key) shares them. Returns (where (N, t): each
    frame's index among the distinct ones; src (U, 2): the clip and frame index of each distinct one).
    A batch without overlap gives every frame its own index (U = N t)."""
    N, t = frames.shape[:2]
    where = torch.empty(N, t, dtype=torch.long)
    src: list[tuple[int, int]] = []
    for i in range(N):
        s = t
        if i > 0 and (keys is None or keys[i] == keys[i - 1]):
            s = next((s for s in range(1, t) if torch.equal(frames[i, : t - s], frames[i - 1, s:])), t)
        if s < t:
            where[i, : t - s] = where[i - 1, s:]
        where[i, t - s :] = torch.arange(len(src), len(src) + s)
        src += [(i, j) for j in range(t - s, t)]
    return where.to(frames.device), torch.as_tensor(src, dtype=torch.long).reshape(-1, 2).to(frames.device)
