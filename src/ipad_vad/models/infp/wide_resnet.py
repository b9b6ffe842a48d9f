"""INFP's encoder f_e (seed 001 §3.1, eq. 1: "a deep and wide convolutional neural network"): a wide
ResNet of pre-activation residual blocks in the layout of WRN-38 (Wu et al. 2019, the encoder of
AstNet and of the official INFP code), applied to each input frame with shared weights.

Stages (``widths[i]`` channels, ``blocks[i]`` residual blocks each): stage 0 is one 3x3 convolution
at the frame's size; stages 1 and 2 follow a 2x2 max-pooling, stage 3 starts with a stride-2 block;
later stages keep 1/8 of the size and dilate their convolutions (2, then 4), as WRN-38's mod5-mod7.
The encoder returns the features at 1/2 (stage 1), 1/4 (stage 2) and 1/8 (the last stage) of the size.
The paper profile uses WRN-38's widths and depths; the demo profiles a narrow, shallow one for CPUs.
The official code trains it from scratch; a checkpoint of it can be loaded by path
(``load_encoder_checkpoint``), never downloaded.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


class WideBlock(nn.Module):
    """Pre-activation residual block: BN-ReLU-conv3x3-BN-ReLU-conv3x3, plus the input (through a 1x1
    convolution of the pre-activated input where the shape changes, as WRN-38)."""

    def __init__(self, cin: int, cout: int, stride: int = 1, dilation: int = 1, dropout: float = 0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.drop = nn.Dropout2d(dropout) if dropout else nn.Identity()
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=dilation, dilation=dilation, bias=False)
        self.skip_conv = nn.Conv2d(cin, cout, 1, stride, bias=False) if (cin != cout or stride != 1) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = torch.relu(self.bn1(x))
        skip = self.skip_conv(pre) if self.skip_conv is not None else x
        return skip + self.conv2(self.drop(torch.relu(self.bn2(self.conv1(pre)))))


class WideResNetEncoder(nn.Module):
    def __init__(self, widths=(16, 32, 64, 128), blocks=(1, 1, 1, 2), dropout: float = 0.0):
        super().__init__()
        if len(widths) < 4 or len(blocks) != len(widths):
            raise ValueError(
                f"wide ResNet: at least 4 stages and one block count per width "
                f"(widths {list(widths)}, blocks {list(blocks)})"
            )
        self.widths = tuple(widths)
        self.stem_conv = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        self.pool = nn.MaxPool2d(2)
        stages = []
        for i in range(1, len(widths)):
            dilation = 1 if i <= 3 else 2 ** min(i - 3, 2)
            layers = [
                WideBlock(
                    widths[i - 1] if j == 0 else widths[i],
                    widths[i],
                    stride=2 if (i == 3 and j == 0) else 1,
                    dilation=dilation,
                    dropout=dropout if i >= 5 else 0.0,
                )
                for j in range(blocks[i])
            ]
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)

    @property
    def channels(self) -> tuple[int, int, int]:
        """Channels of the 1/2, 1/4 and 1/8 features."""
        return self.widths[1], self.widths[2], self.widths[-1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(N, 3, H, W) -> features at 1/2, 1/4 and 1/8 of (H, W)."""
        y = self.stem_conv(x)
        feats = []
        for i, stage in enumerate(self.stages, start=1):
            if i in (1, 2):
                y = self.pool(y)
            y = stage(y)
            feats.append(y)
        return feats[0], feats[1], feats[-1]


def load_encoder_checkpoint(encoder: WideResNetEncoder, path: str | Path) -> dict:
    """Load a local checkpoint into the encoder (a state dict, or one under ``state_dict``/``model``;
    keys may carry a ``module.`` or ``encoder.`` prefix). Every encoder weight must be found with its
    shape, or a ConfigError names what is missing."""
    from ...errors import ConfigError, DataError

    path = Path(path)
    if not path.is_file():
        raise DataError(path, "encoder checkpoint not found (methods.infp.encoder_checkpoint; never downloaded)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for a corrupt file
        raise DataError(path, f"cannot read encoder checkpoint: {e}") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    clean = {}
    for k, v in state.items():
        for prefix in ("module.", "encoder."):
            k = k[len(prefix) :] if k.startswith(prefix) else k
        clean[k] = v
    own = encoder.state_dict()
    missing = [k for k in own if k not in clean or tuple(clean[k].shape) != tuple(own[k].shape)]
    if missing:
        raise ConfigError(
            f"{path}: not a checkpoint of this encoder (widths {list(encoder.widths)}): "
            f"{len(missing)} of {len(own)} weights missing or of another shape, e.g. {missing[:3]}"
        )
    encoder.load_state_dict({k: clean[k] for k in own})
    return {"loaded": len(own)}
