"""The torch device `ipad score` runs on (``--accelerator`` or params ``score.device``), checked
before any model is loaded (issue 29): ``cuda`` on a machine without a usable NVIDIA GPU is a
one-line error, not torch's ``RuntimeError: Found no NVIDIA driver`` from deep inside the scorer."""

from __future__ import annotations

from ..errors import ConfigError

CHOICES = "auto | cpu | cuda | cuda:<n>"


def scoring_device(name: str, source: str = "--accelerator") -> str:
    """`name` resolved (``auto``: a CUDA GPU if there is one, else the CPU) and checked; `source`
    names where it was set, for the error."""
    import torch

    from ..train.loop import resolve_device

    try:
        dev = resolve_device(name)
    except (RuntimeError, ValueError):  # torch.device("gpu"): not a device string
        raise ConfigError(f"{source} {name!r}: not a device; choose {CHOICES}") from None
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0:
            raise ConfigError(
                f"{source} {name!r}: no CUDA device is available on this machine (torch "
                f"{torch.__version__} finds no usable NVIDIA GPU and driver); use --accelerator cpu or auto"
            )
        if dev.index is not None and dev.index >= n:
            raise ConfigError(f"{source} {name!r}: this machine has {n} CUDA device(s), numbered from 0")
    elif dev.type != "cpu":
        raise ConfigError(f"{source} {name!r}: ipad score runs on {CHOICES}")
    return str(dev)
