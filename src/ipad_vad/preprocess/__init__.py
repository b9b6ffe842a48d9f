"""Per-scene preprocessing: decoded frame cache, optical flow and motion energy, period estimation."""
