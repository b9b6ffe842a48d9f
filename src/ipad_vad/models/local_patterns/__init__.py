"""Seed 003 (issue 15): regions, backbone, ITAM, the Legendre SMM - one idea per file (``model.py`` assembles them)."""
