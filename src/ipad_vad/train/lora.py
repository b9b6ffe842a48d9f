"""LoRA adaptation with peft (seed 000 §4.4).

The encoder is frozen except its patch embedding and LayerNorms; low-rank adapters go on the `q` and
`v` projections of every attention block (our encoder keeps them as separate linears for this). The
decoder and the period head are trainable or frozen by setting. A per-device model is saved as
*only* what fine-tuning changed — the adapter and the small trainable parts, via peft's
``modules_to_save`` — so it is a small file on top of the shared base.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from ..settings.adapt import Lora

# module-name suffixes trained in full alongside the adapters (the encoder's embedding + norms)
ENCODER_TRAINABLE = ["patch_embed", "norm1", "norm2", "encoder.norm"]
# LoRA on the q and v projections of every attention block of the Video Swin encoder (seed 000 §4.4)
SWIN_QV = r".*encoder\.stages\.\d+\.\d+\.attn\.(q|v)$"
MERGE_NORMS = "merges.{i}.norm"


_LORA = Lora.model_fields  # adapt.lora (its meanings and defaults: settings/adapt.py)


@dataclass(frozen=True)
class LoraSettings:
    rank: int = _LORA["rank"].default
    alpha: float = _LORA["alpha"].default
    dropout: float = _LORA["dropout"].default
    train_decoder: bool = _LORA["train_decoder"].default
    train_period_head: bool = _LORA["train_period_head"].default


def _modules_to_save(model: nn.Module, s: LoraSettings) -> list[str]:
    names = list(ENCODER_TRAINABLE)
    names += [MERGE_NORMS.format(i=i) for i in range(len(getattr(model.encoder, "merges", [])))]
    if s.train_decoder:
        names.append("decoder")
    if s.train_period_head and getattr(model, "period_head", None) is not None:
        names.append("period_head")
    if getattr(model, "memory", None) is not None and s.train_decoder:
        names.append("memory")
    return names


def add_lora(
    model: nn.Module,
    s: LoraSettings,
    targets: str | None = SWIN_QV,
    what: str = "model",
    modules_to_save: list[str] | None = None,
):
    """Wrap a model in a peft model with LoRA on the modules matching `targets` and the modules named
    by `modules_to_save` (name suffixes) trained in full. Without `modules_to_save`: a Video Swin model
    (IPADVAD, VSwinAE), default targets its encoder's q and v, trained in full its embedding, norms
    and, by setting, decoder and period head. Anything else is a clear error, not a silent no-op:
    a model without a Video Swin encoder there, or targets that match no module."""
    import re

    from peft import LoraConfig, get_peft_model

    from ..errors import ConfigError
    from ..models.video_swin import VideoSwinEncoder

    if not targets:
        raise ConfigError(f"{what}: this method names no modules for LoRA; adapt it by 'full' or 'refit'")
    if modules_to_save is None and not isinstance(getattr(model, "encoder", None), VideoSwinEncoder):
        raise ConfigError(
            f"{what}: LoRA needs a Video Swin model (an encoder with q/v attention projections), "
            f"got {type(model).__name__}; adapt it by 'full' fine-tuning instead"
        )
    if not any(re.fullmatch(targets, n) for n, _ in model.named_modules()):
        raise ConfigError(f"{what}: LoRA targets {targets!r} match no module of {type(model).__name__}")
    cfg = LoraConfig(
        r=s.rank,
        lora_alpha=s.alpha,
        lora_dropout=s.dropout,
        bias="none",
        target_modules=targets,
        modules_to_save=_modules_to_save(model, s) if modules_to_save is None else modules_to_save,
    )
    return get_peft_model(model, cfg)


def trainable_summary(model: nn.Module) -> dict:
    """Trainable parameters vs the model's own size (peft's trainable copies of `modules_to_save`
    are not counted twice)."""
    total = sum(p.numel() for n, p in model.named_parameters() if "modules_to_save" not in n)
    train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"trainable": train, "total": total, "share": train / max(total, 1)}


def save_adapter(peft_model, out_dir: str | Path) -> Path:
    """Save only the adapter (+ modules_to_save), atomically (written beside, then renamed)."""
    from ..io_utils import atomic_dir

    out_dir = Path(out_dir)
    if out_dir.exists():
        import shutil

        shutil.rmtree(out_dir)
    with atomic_dir(out_dir) as tmp:
        peft_model.save_pretrained(str(tmp))
    return out_dir


def load_adapter(base: nn.Module, adapter_dir: str | Path, merge: bool = False) -> nn.Module:
    """Base model + saved adapter; `merge=True` folds the LoRA weights into q and v for inference."""
    from peft import PeftModel

    from ..errors import DataError

    adapter_dir = Path(adapter_dir)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise DataError(adapter_dir, "not a saved adapter (adapter_config.json missing)")
    model = PeftModel.from_pretrained(base, str(adapter_dir))
    return model.merge_and_unload() if merge else model
