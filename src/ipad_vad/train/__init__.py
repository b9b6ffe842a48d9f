"""Training: loss, LoRA (peft) wrapping, checkpoints, and the plain-PyTorch training loop."""
