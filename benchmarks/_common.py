"""Shared helpers of the benchmarks: timing and the JSON result file with the machine it ran on."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

# IPAD_BENCH_RESULTS: another folder for the JSON/Markdown results (the tests run benchmarks into a temp folder)
RESULTS = Path(os.environ.get("IPAD_BENCH_RESULTS") or Path(__file__).resolve().parent / "results")


def cpu_model() -> str | None:
    """The CPU as /proc/cpuinfo names it (name, family, model, stepping; None elsewhere): a learned model
    trained on another CPU of the same platform string can score otherwise (its kernels round otherwise;
    docs/quality.md §19), so the result says which."""
    try:
        info = dict(
            line.split(":", 1)
            for line in Path("/proc/cpuinfo").read_text().split("\n\n")[0].splitlines()
            if ":" in line
        )
    except OSError:
        return None
    info = {k.strip(): v.strip() for k, v in info.items()}
    return f"{info.get('model name')} (family {info.get('cpu family')}, model {info.get('model')}, stepping {info.get('stepping')})"


def machine() -> dict:
    import torch

    return {
        "cpu_count": os.cpu_count(),
        "cpu": cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),  # the kernels torch dispatches to (AVX2, AVX512)
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


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


def apply_overrides(p: dict, items: list[str]) -> dict:
    """``--set KEY=VALUE`` (a YAML value) into the params `p`, in place; a key that neither params.yaml
    nor the settings' schema has is refused (a typo must not measure the defaults). A key params.yaml
    leaves at its schema default (e.g. ``methods.feature_bank.persist``) may be set."""
    import yaml

    for item in items:
        key, _, value = item.partition("=")
        *path, last = key.split(".")
        node = p
        for i, k in enumerate(path):
            if k not in node and schema_knows(p, path[: i + 1]):
                node[k] = {}  # a section params.yaml leaves out: its schema defaults and this key
            node = node[k]
        if last not in node and not schema_knows(p, [*path, last]):
            raise SystemExit(f"--set {item}: no setting {key} in params.yaml or its schema")
        node[last] = yaml.safe_load(value)
    return p


def schema_knows(p: dict, path: list[str]) -> bool:
    """Whether the settings' schema has the key at `path`: the params with every default filled in
    (``with_defaults``; under ``methods.<name>`` with the registered method's own settings)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from ipad_vad.methods import get_method_class, method_names
    from ipad_vad.params_schema import with_defaults

    if len(path) >= 2 and path[0] == "methods" and path[1] in method_names():
        node = with_defaults((p.get("methods") or {}).get(path[1]) or {}, get_method_class(path[1]).Settings)
        path = path[2:]
    else:
        node = with_defaults(p)
    for k in path:
        if not isinstance(node, dict) or k not in node:
            return False
        node = node[k]
    return True


def prefect_server(env: dict, port: int, *options: str):
    """A local Prefect server on 127.0.0.1:`port` (`prefect server start` with `options`), once its API
    answers at env's PREFECT_API_URL (120 s at most); the caller terminates it."""
    import subprocess
    from urllib.request import urlopen

    server = subprocess.Popen(
        ["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port), *options],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(120):
        try:
            urlopen(env["PREFECT_API_URL"] + "/health", timeout=2)
            break
        except OSError:
            time.sleep(1)
    return server


def replace_block(path: Path, name: str, text: str) -> None:
    """Replace the block between ``<!-- name -->`` and ``<!-- /name -->`` of the Markdown file `path` with `text`
    (the generated tables of the docs: bench_quality.py, scripts/demo.sh)."""
    s = path.read_text()
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    if start not in s or end not in s:
        raise SystemExit(f"{path} has no {start} ... {end} block")
    head, rest = s.split(start, 1)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(head + start + "\n" + text.rstrip("\n") + "\n" + rest[rest.index(end) :])
    tmp.replace(path)


if __name__ == "__main__":  # python benchmarks/_common.py FILE NAME SOURCE: the block NAME of FILE := SOURCE's text
    import sys

    if len(sys.argv) != 4:
        raise SystemExit("usage: python benchmarks/_common.py FILE NAME SOURCE")
    replace_block(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]).read_text())
