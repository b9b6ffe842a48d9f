"""Issue 30 (2): what a pipeline step's process imports before its first real work. `make demo` runs
~75 `ipad` processes (one per DVC stage); torch with timm and torchvision costs each one that loads it
seconds, so a step that runs no method (prepare, report) never imports torch, and a step that runs
one method imports that method's file only. Each check runs in a fresh interpreter (sys.modules)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "timm", "torchvision")


def _loaded(code: str, cwd: Path) -> list[str]:
    """The heavy modules a fresh interpreter holds after running `code` in `cwd`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    r = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_steps_that_run_no_method_check_their_params_without_torch(tmp_path):
    """prepare's and report's flow modules, and the params check their flows start with (the same
    ./params.yaml every step reads), import no torch: before, the check built every method of
    pipeline.methods (torch, timm, torchvision: ~4 s a stage) and the report's flow module imported
    the evaluation jobs."""
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    code = (
        "import flows.prepare, flows.evaluate\nfrom tasks.common import params\n"
        "p = params(None, build=[])\nassert p['pipeline']['methods']"
    )
    assert _loaded(code, tmp_path) == []


def test_a_step_that_runs_one_method_imports_that_method_only(tmp_path):
    """`ipad evaluate --method knn` (and adapt, pretrain) check and build knn alone: torch, but not
    ipad_vad's Video Swin (timm, torchvision), which the check of every method imported before."""
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    code = "from tasks.common import params\np = params(None, build=['knn'])"
    assert _loaded(code, tmp_path) == ["torch"]
