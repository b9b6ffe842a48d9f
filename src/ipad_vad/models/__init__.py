"""Pure nn.Modules: the IPAD-VAD model, its parts, the baselines of the paper's Table 2 and the
reference detector's bank. Which module a method uses, and how it is trained, adapted, scored and
saved, is the method's business (``ipad_vad.methods``)."""

from torch import nn


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
