"""Pure nn.Modules: the IPAD-VAD model, its parts, and the baselines of the paper's Table 2.

Training, logging and I/O live elsewhere (`ipad_vad.train`, `ipad_vad.evaluate`). Every model's
forward takes a clip batch (B, 3, T, H, W) in [-1, 1] and returns a dict with at least `recon`.
"""
