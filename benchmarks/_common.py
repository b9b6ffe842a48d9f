"""Shared helpers of the benchmarks: timing and the JSON result file with the machine it ran on."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

# IPAD_BENCH_RESULTS: another folder for the JSON/Markdown results (the tests run benchmarks into a temp folder)
RESULTS = Path(os.environ.get("IPAD_BENCH_RESULTS") or Path(__file__).resolve().parent / "results")


def machine() -> dict:
    import torch

    return {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "torch": torch.__version__, "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def timed(fn, repeat: int = 3) -> float:
    """Best wall time of `repeat` runs of fn() (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def write_result(name: str, result: dict) -> Path:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from ipad_vad.io_utils import write_json

    path = RESULTS / f"{name}.json"
    write_json(path, {"benchmark": name, "machine": machine(), **result})
    print(json.dumps(result, indent=2))
    print(f"-> {path}")
    return path
