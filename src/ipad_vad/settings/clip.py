"""``clip:``: the clips every method sees."""

from __future__ import annotations

from ._base import Pos, Section, Size


class Clip(Section):
    length: Pos = 16  # frames per clip (paper: 16)
    stride: Pos = 1  # frames between clip starts (evaluation)
    size: Size = [64, 64]  # frame size fed to the model (H, W)
    train_stride: Pos = 1  # frames between training clip starts
