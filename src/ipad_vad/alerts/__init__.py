"""Alerts: scores calibrated on normal footage of a device, the threshold chosen from a target
false-alarm rate, and alert spans found in a stream of frame scores."""
