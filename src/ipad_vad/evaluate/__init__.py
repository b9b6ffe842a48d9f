"""Scoring and evaluation: per-clip scores, sliding-window period inspection, AUC protocols."""
