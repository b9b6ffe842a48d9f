"""Data layer: IPAD layout reader, raw-footage reader (decord), labels, periods, manifest,
import, validation (great-expectations) and the PyTorch clip dataset."""
