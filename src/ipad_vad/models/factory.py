"""Build a model by name from the `model:` section of params.yaml."""

from __future__ import annotations

from torch import nn

from ..errors import ConfigError

MODEL_NAMES = ("ipad_vad", "v_swin_ae", "conv_ae", "mem_ae")


def build_model(name: str, cfg: dict, clip_len: int = 16) -> nn.Module:
    from .conv_ae import ConvAE
    from .ipad_vad import IPADVAD
    from .mem_ae import MemAE
    from .v_swin_ae import VSwinAE

    enc = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.get("encoder", {}).items()}
    if name == "ipad_vad":
        return IPADVAD(enc, cfg.get("period", {}), cfg.get("memory", {}), cfg.get("decoder"))
    if name == "v_swin_ae":
        return VSwinAE(enc, cfg.get("decoder"))
    if name == "conv_ae":
        return ConvAE(clip_len, tuple(cfg.get("conv_ae", {}).get("channels", (64, 128, 256))))
    if name == "mem_ae":
        m = cfg.get("mem_ae", {})
        return MemAE(tuple(m.get("channels", (16, 32, 64, 128))), m.get("mem_size", 2000), m.get("shrink_threshold", 0.0025))
    raise ConfigError(f"unknown model {name!r}; known: {MODEL_NAMES}")


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
