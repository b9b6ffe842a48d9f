"""Load externally pretrained Video Swin weights from a file the user provides (never fetched).

Two checkpoint layouts are understood, both with a *fused* ``qkv`` projection that is split into our
separate ``q``, ``k``, ``v`` layers (rows [0:C], [C:2C], [2C:3C]):

* official / mmaction Video Swin: ``[backbone.]layers.{i}.blocks.{j}...``, ``layers.{i}.downsample``,
  ``mlp.fc1/fc2`` (e.g. the Kinetics-400 Swin-T release);
* torchvision ``swin3d_t/s/b``: ``features.{2i}.{j}...`` stages, ``features.{2i+1}`` merges,
  ``mlp.0/mlp.3``.

Classification heads are dropped. A relative-position table of another window size is resized
(trilinear over the offset grid). Returns what was loaded, what is missing and what was ignored.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import DataError


def _convert_key(key: str) -> str | None:
    k = re.sub(r"^(module\.)?(backbone\.)?", "", key)
    if k.startswith(("head.", "cls_head.", "fc.")) or k.endswith(("relative_position_index", "attn_mask")):
        return None  # classification heads, and buffers we derive ourselves
    m = re.match(r"layers\.(\d+)\.blocks\.(\d+)\.(.*)", k)
    if m:
        k = f"stages.{m[1]}.{m[2]}.{m[3]}"
    m = re.match(r"layers\.(\d+)\.downsample\.(.*)", k)
    if m:
        k = f"merges.{m[1]}.{m[2]}"
    m = re.match(r"features\.(\d+)\.(.*)", k)
    if m:  # torchvision: even indices are stages, odd ones merges
        i, rest = int(m[1]), m[2]
        k = f"stages.{i // 2}.{rest}" if i % 2 == 0 else f"merges.{i // 2}.{rest}"
    k = k.replace("mlp.0.", "mlp.fc1.").replace("mlp.3.", "mlp.fc2.")
    return k


def _resize_table(table: torch.Tensor, src_window, dst_window) -> torch.Tensor:
    heads = table.shape[1]
    grid = table.T.reshape(1, heads, *[2 * w - 1 for w in src_window])
    grid = F.interpolate(grid, size=tuple(2 * w - 1 for w in dst_window), mode="trilinear", align_corners=True)
    return grid.reshape(heads, -1).T


def convert_state_dict(state: dict, model) -> dict:
    out = {}
    for key, value in state.items():
        k = _convert_key(key)
        if k is None:
            continue
        if k.endswith("attn.qkv.weight") or k.endswith("attn.qkv.bias"):
            q, kk, v = value.chunk(3, dim=0)
            stem, kind = k.rsplit(".qkv.", 1)
            out[f"{stem}.q.{kind}"], out[f"{stem}.k.{kind}"], out[f"{stem}.v.{kind}"] = q, kk, v
            continue
        out[k] = value
    own = model.state_dict()
    for k, v in list(out.items()):
        if k.endswith("relative_position_bias_table") and k in own and own[k].shape != v.shape:
            attn = model.get_submodule(k.rsplit(".", 1)[0])
            n_src = v.shape[0]
            src = _infer_window(n_src, attn.window)
            out[k] = _resize_table(v, src, attn.window)
    return out


def _infer_window(n: int, like) -> tuple[int, int, int]:
    """Window whose (2w-1) product is n, keeping the spatial window square like `like`."""
    for wd in range(1, 33):
        rest = n / (2 * wd - 1)
        s = round(rest**0.5)
        if s * s == rest and (s + 1) % 2 == 0:
            return (wd, (s + 1) // 2, (s + 1) // 2)
    raise ValueError(f"cannot infer the window of a relative-position table with {n} rows")


def load_pretrained(encoder, path: str | Path, strict: bool = False) -> dict:
    """Load a Video Swin checkpoint file into `encoder` (a VideoSwinEncoder: anything else is an
    error, never a silent non-strict load); returns {loaded, missing, unexpected}."""
    from ..errors import ConfigError
    from .video_swin import VideoSwinEncoder

    path = Path(path)
    if not isinstance(encoder, VideoSwinEncoder):
        raise ConfigError(
            f"model.pretrained_encoder ({path}): a Video Swin checkpoint loads only into a Video Swin "
            f"encoder, not into {type(encoder).__name__}"
        )
    if not path.is_file():
        raise DataError(path, "pretrained checkpoint not found (weights are never downloaded: give a local file)")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise DataError(path, f"cannot read checkpoint: {e}") from e
    state = ckpt.get("state_dict") or ckpt.get("model") or ckpt if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise DataError(path, "checkpoint holds no state dict")
    converted = convert_state_dict(state, encoder)
    own = encoder.state_dict()
    shape_mismatch = [k for k, v in converted.items() if k in own and own[k].shape != v.shape]
    if shape_mismatch:
        raise DataError(path, f"tensor shapes do not match this encoder's configuration: {shape_mismatch[:5]}")
    result = encoder.load_state_dict(converted, strict=strict)
    return {
        "loaded": len([k for k in converted if k in own]),
        "missing": list(result.missing_keys),
        "unexpected": list(result.unexpected_keys),
    }
