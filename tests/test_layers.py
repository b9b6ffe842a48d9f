"""Imports point one way (issue 28): the import-linter contracts of pyproject.toml ([tool.importlinter]:
ipad_vad's layers, and no import of flows/, tasks/, Prefect or DVC) hold for the code, and they fail
when a lower layer imports an upper one - checked on a copy of the library with one such import added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    """`lint-imports` (the venv's) in `cwd`, reading `cwd`/pyproject.toml; `pythonpath` first on the path."""
    exe = Path(sys.executable).with_name("lint-imports")
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run(
        [str(exe), "--no-cache", "--no-logo"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_import_contracts_hold():
    res = lint_imports(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 kept, 0 broken" in res.stdout


@pytest.mark.parametrize(
    "module, line, broken",
    [
        # the data layer reaching up into the methods that read it
        (
            "data/frames.py",
            "from ..methods.base import Method",
            "ipad_vad.data is not allowed to import ipad_vad.methods",
        ),
        # a model taking optical flow from pseudo-anomalies again (issue 28's first case)
        (
            "models/local_patterns/regions.py",
            "from ...pseudo.temporal import flow_mixup",
            "ipad_vad.models is not allowed to import ipad_vad.pseudo",
        ),
        # the library importing the orchestration layer
        ("jobs/report.py", "import prefect", "ipad_vad.jobs.report -> prefect"),
    ],
)
def test_an_upward_import_breaks_the_contracts(tmp_path, module, line, broken):
    shutil.copytree(
        ROOT / "src" / "ipad_vad", tmp_path / "src" / "ipad_vad", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "src" / "ipad_vad" / module
    target.write_text(target.read_text() + f"\n{line}  # an import against the layers\n")
    res = lint_imports(tmp_path, pythonpath=tmp_path / "src")
    assert res.returncode != 0
    assert broken in res.stdout, res.stdout + res.stderr
    assert "1 broken" in res.stdout
