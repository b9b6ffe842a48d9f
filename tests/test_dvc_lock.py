"""dvc.lock holds only stages dvc.yaml defines (DVC never removes a renamed stage's entry,
treeverse/dvc#5293): scripts/prune_dvc_lock.py removes them, and the committed lock is tidy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import prune_dvc_lock  # noqa: E402

DVC = Path(sys.executable).parent / "dvc"  # the venv's: CI runs the tests without activating it


def test_committed_lock_has_only_live_stages():
    assert prune_dvc_lock.stale_entries(ROOT) == []


def test_prune_removes_dead_entries_and_keeps_live_ones(tmp_path):
    subprocess.run([str(DVC), "init", "--no-scm", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "dvc.yaml").write_text("stages:\n  make:\n    cmd: echo hi > out.txt\n    outs:\n      - out.txt\n")
    live = {"cmd": "echo hi > out.txt", "outs": [{"path": "out.txt", "hash": "md5", "md5": "a" * 32, "size": 3}]}
    dead = {"cmd": "old", "outs": [{"path": "old.txt", "hash": "md5", "md5": "b" * 32, "size": 1}]}
    (tmp_path / "dvc.lock").write_text(
        yaml.safe_dump({"schema": "2.0", "stages": {"make": live, "old@1": dead}}, sort_keys=False)
    )
    assert prune_dvc_lock.stale_entries(tmp_path) == ["old@1"]
    assert prune_dvc_lock.prune(tmp_path) == ["old@1"]
    doc = yaml.safe_load((tmp_path / "dvc.lock").read_text())
    assert doc == {"schema": "2.0", "stages": {"make": live}}
    assert prune_dvc_lock.prune(tmp_path) == []  # nothing left to do
    assert not list(tmp_path.glob(".dvc.lock.tmp"))
