"""Prefect tasks: thin wrappers over `ipad_vad` library functions.

Retries with exponential backoff on steps that mainly do file I/O (caching, flow, period, report,
registry); never on validation (a failed gate must stop, not retry); `gpu`-tagged tasks (training,
fine-tuning, evaluation) share the `gpu` concurrency limit (`prefect concurrency-limit create gpu 1`
per GPU worker). MLflow logging happens here, around the library calls.
"""
