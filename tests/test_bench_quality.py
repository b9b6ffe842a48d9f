"""The quality benchmark end to end at smoke size: the JSON keys CI and dashboards read, the Markdown
tables, and the README block it fills (into a temp results folder and a copy of the README)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_quality_writes_the_figures_the_readme_and_dashboards_read(tmp_path):
    env = dict(os.environ, IPAD_BENCH_RESULTS=str(tmp_path))
    cmd = [sys.executable, str(ROOT / "benchmarks/bench_quality.py"), "--profile", "smoke", "--seeds", "0,1",
           "--methods", "knn", "--out", "q", "--set", "methods.knn.shift=0"]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    result = json.loads((tmp_path / "q.json").read_text())
    assert result["seeds"] == [0, 1] and result["overrides"] == ["methods.knn.shift=0"]
    m = result["methods"]["knn"]
    for key in ("auc_scene_norm_mean", "auc_video_norm_mean", "spans_alerted_share", "false_alerts_per_1000",
                "fit_s", "adapt_s", "score_s"):
        assert isinstance(m[key], float), key
    assert 0 <= m["auc_scene_norm_mean"] <= 1 and set(m["auc_per_scene"]) == {"S01", "S02", "R01"}
    assert set(result["per_seed"]["knn"]) == {"0", "1"}
    md = (tmp_path / "q.md").read_text()
    assert "| Reference (kNN) |" in md and "Targets of issues 12, 13 and 14" in md
    # an unknown setting is refused before any work
    bad = subprocess.run([*cmd[:-2], "--set", "methods.knn.nope=1"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode != 0 and "no setting methods.knn.nope" in bad.stderr
