"""Scoring footage with a registered model: a streaming scorer (frames in, calibrated frame scores
and alerts out), frame sources (files, folders, growing files and folders), and loading a device's
champion from the registry."""
