"""The quality benchmark end to end at smoke size: the JSON keys CI and dashboards read, the Markdown
tables, and the docs block it fills (into a temp results folder)."""

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
    cmd = [
        sys.executable,
        str(ROOT / "benchmarks/bench_quality.py"),
        "--profile",
        "smoke",
        "--seeds",
        "0,1",
        "--methods",
        "knn",
        "--out",
        "q",
        "--set",
        "methods.knn.shift=0",
    ]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    result = json.loads((tmp_path / "q.json").read_text())
    assert result["seeds"] == [0, 1] and result["overrides"] == ["methods.knn.shift=0"]
    m = result["methods"]["knn"]
    for key in (
        "auc_scene_norm_mean",
        "auc_video_norm_mean",
        "spans_alerted_share",
        "false_alerts_per_1000",
        "fit_s",
        "adapt_s",
        "score_s",
    ):
        assert isinstance(m[key], float), key
    assert 0 <= m["auc_scene_norm_mean"] <= 1 and set(m["auc_per_scene"]) == {"S01", "S02", "R01"}
    assert set(result["per_seed"]["knn"]) == {"0", "1"}
    md = (tmp_path / "q.md").read_text()
    assert "| Reference (kNN) |" in md and "Targets of issues 12, 13, 14 and 25" in md
    # an unknown setting is refused before any work
    bad = subprocess.run(
        [*cmd[:-2], "--set", "methods.knn.nope=1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode != 0 and "no setting methods.knn.nope" in bad.stderr


@pytest.mark.slow
def test_rows_run_apart_combine_into_the_joint_result_and_pa_rows_are_labelled(tmp_path):
    """--combine (benchmarks/gpu_quality.sh runs every seed and row as its own process) gives what one
    joint run gives; a `<method>+pa` row trains the method with pseudo-anomalies under its own label."""
    env = dict(os.environ, IPAD_BENCH_RESULTS=str(tmp_path))
    base = [sys.executable, str(ROOT / "benchmarks/bench_quality.py"), "--profile", "smoke"]

    def run(*args):
        r = subprocess.run([*base, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]

    run("--seeds", "0,1", "--methods", "knn", "--out", "joint")
    run("--seeds", "0", "--methods", "knn", "--out", "s0")
    run("--seeds", "1", "--methods", "knn,conv_ae+pa", "--out", "s1")
    bad = subprocess.run(
        [*base, "--combine", "s0,s1", "--out", "both"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode != 0 and "not every row has every seed: ['conv_ae+pa seed 0']" in bad.stderr
    run("--seeds", "0", "--methods", "conv_ae+pa", "--out", "s0pa")
    run("--combine", "s0,s1,s0pa", "--out", "both")
    joint, both = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("joint", "both"))
    assert both["seeds"] == [0, 1] and both["combined_from"] == 3
    assert both["methods"]["knn"]["auc_per_scene"] == joint["methods"]["knn"]["auc_per_scene"]
    assert "| conAE + PAs |" in (tmp_path / "both.md").read_text()


@pytest.mark.slow
def test_table3_of_a_method_runs_on_every_seed_and_combines(tmp_path):
    """``--table3 feature_bank``: LoRA on 1/5, full fine-tuning and training from scratch, and the two
    crossed cells, on every device of every seed (IPAD-VAD's committed Table 3 is seed 000's alone,
    unless --table3-all-seeds), averaged over the seeds; --combine
    carries it; a method not among --methods is refused before any work."""
    env = dict(os.environ, IPAD_BENCH_RESULTS=str(tmp_path))
    base = [sys.executable, str(ROOT / "benchmarks/bench_quality.py"), "--profile", "smoke"]

    def run(*args):
        return subprocess.run([*base, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)

    bad = run("--seeds", "0", "--methods", "knn", "--table3", "feature_bank", "--out", "x")
    assert bad.returncode != 0 and "--table3 feature_bank: add it to --methods" in bad.stderr
    assert not (tmp_path / "x.json").exists()
    r = run("--seeds", "0,1", "--methods", "feature_bank", "--table3", "feature_bank", "--out", "t")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    t3 = json.loads((tmp_path / "t.json").read_text())["table3"]
    assert t3["method"] == "feature_bank" and t3["seeds"] == [0, 1]
    assert list(t3["rows"]) == ["lora_1/5", "full_all", "scratch_all", "lora_all", "full_1/5"]
    for name, row in t3["rows"].items():
        seeds = [t3["per_seed"][s][name] for s in ("0", "1")]
        assert set(row["auc_per_device"]) == {"R01"} and row["seconds"] > 0
        assert row["auc_per_seed"] == {"0": seeds[0]["auc_mean"], "1": seeds[1]["auc_mean"]}
        assert abs(row["auc_mean"] - (seeds[0]["auc_mean"] + seeds[1]["auc_mean"]) / 2) < 1e-12
    assert "Table 3 on the devices (Feature bank" in (tmp_path / "t.md").read_text()
    r = run("--combine", "t", "--out", "c")
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((tmp_path / "c.json").read_text())["table3"] == t3


def _result(overrides: list[str], rows: dict[str, float], seeds=(0,)) -> dict:
    """A bench_quality result of one scene: each row's scene-norm AUC on every seed."""

    def seed(auc: float) -> dict:
        scene = {"auc": {"scene_norm": {"score": auc}, "video_norm": {"score": auc}}, "auc_per_type": {}}
        return {"scenes": {"S01": scene}, "fit_s": 1.0, "adapt_s": 0.0, "score_s": 1.0}

    return {
        "profile": "demo",
        "overrides": overrides,
        "scenes": ["S01"],
        "pretrain_scenes": ["S01"],
        "devices": [],
        "per_seed": {row: {str(s): seed(auc) for s in seeds} for row, auc in rows.items()},
    }


def test_combine_takes_rows_whose_settings_an_override_does_not_touch_and_refuses_the_others():
    """--combine NAME:ROW+ROW: after ``adapt_steps`` changed, the ablations that fix it at 0 and the
    reference are taken from the earlier run; that run's own feature-bank row is refused, naming the
    setting; a row and seed given twice is refused; the result says which part gave which rows."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_quality import combine

    fb = "methods.feature_bank={adaptation: full, steps: 3000, adapt_steps: %d, bank_footage: all, max_bank: 4000}"
    new = _result([fb % 600], {"feature_bank": 0.86})
    old = _result([fb % 200], {"feature_bank": 0.85, "knn": 0.87, "feature_bank_no_adapt": 0.84})
    out = combine([("new", new, None), ("old", old, ["knn", "feature_bank_no_adapt"])])
    assert out["overrides"] == [fb % 600]
    assert {r: m["auc_scene_norm_mean"] for r, m in out["methods"].items()} == {
        "feature_bank": 0.86,
        "knn": 0.87,
        "feature_bank_no_adapt": 0.84,
    }
    assert out["combined"][1] == {"part": "old", "rows": ["knn", "feature_bank_no_adapt"], "overrides": [fb % 200]}
    with pytest.raises(SystemExit, match=r"row feature_bank of old ran under other settings.*adapt_steps: 200 vs 600"):
        combine([("new", new, None), ("old", old, None)])
    with pytest.raises(SystemExit, match=r"row feature_bank seed 0 is in new and again"):
        combine([("new", new, None), ("again", new, None)])
    with pytest.raises(SystemExit, match=r"old has no row 'v_swin_ae'"):
        combine([("new", new, None), ("old", old, ["v_swin_ae"])])


def test_table3_targets_by_hand_and_the_demo_report_block(tmp_path, monkeypatch):
    """Issue 25's two Table 3 targets from the rows (LoRA 0.75 against scratch 0.69: +6.0, met; 0.75
    against full 0.78 at 20 of 40 s: 3 below at 0.50 of the time, missed), and the committed result's
    Table 3 written into the demo report page's block, nothing else of it touched."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_quality as bq

    row = lambda auc, s: {"auc_mean": auc, "seconds": s, "auc_per_seed": {"0": auc}, "auc_per_device": {"R01": auc}}  # noqa: E731
    result = {
        "table3": {
            "method": "ipad_vad",
            "seeds": [0],
            "rows": {"lora_1/5": row(0.75, 20.0), "full_all": row(0.78, 40.0), "scratch_all": row(0.69, 40.0)},
        }
    }
    text = bq.table3_markdown(result, {"ipad_vad": "IPAD-VAD"})
    assert "| pretrained + LoRA ≥ scratch + 5 | 75.0 vs 69.0 (+6.0) | yes |" in text
    assert "| LoRA within 2 of full fine-tuning at ≤ 1/3 of its time | -3.0 at 0.50× the time | **no** |" in text
    assert "Table 3 on the devices (IPAD-VAD, seeds 0)" in text and bq.table3_markdown({}, {}) == ""
    quality, demo = tmp_path / "quality.md", tmp_path / "demo.md"
    quality.write_text("<!-- bench_quality -->\nold\n<!-- /bench_quality -->\n")
    demo.write_text("head\n<!-- bench_quality_table3 -->\nold\n<!-- /bench_quality_table3 -->\ntail\n")
    monkeypatch.setattr(bq, "QUALITY_DOC", quality)
    monkeypatch.setattr(bq, "DEMO_DOC", demo)
    bq.update_docs("bench_quality", "rows\n", result, {"ipad_vad": "IPAD-VAD"})
    assert (
        demo.read_text()
        == f"head\n<!-- bench_quality_table3 -->\n{text.rstrip()}\n<!-- /bench_quality_table3 -->\ntail\n"
    )
    assert quality.read_text() == "<!-- bench_quality -->\nrows\n<!-- /bench_quality -->\n"


def test_issue25_auc_targets_by_hand():
    """IPAD-VAD ≥ 75 and every seed method ≥ 70, from the rows in a result: IPAD-VAD 0.749 misses by a
    tenth; local patterns 0.707 and INFP 0.70 meet it, so the row is met until the PA AEs' 0.519 joins
    (the seed methods not in a result are not counted)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_quality as bq

    def row(auc):
        return {
            "auc_scene_norm_mean": auc,
            "auc_per_type": {"pause": auc},
            "auc_per_scene": {"S01": auc},
            "spans_alerted_share": 0.5,
            "false_alerts_per_1000": 0.0,
        }

    labels = {
        "knn": "Reference",
        "ipad_vad": "IPAD-VAD",
        "infp": "INFP",
        "local_patterns": "LP",
        "pseudo_anomaly": "PA",
    }
    ms = {"knn": row(0.874), "ipad_vad": row(0.749), "infp": row(0.70), "local_patterns": row(0.707)}
    rows = {t: (m, ok) for t, m, ok in bq.targets(ms, labels)}
    assert rows["IPAD-VAD ≥ 75"] == ("74.9", False)
    assert rows["every seed method ≥ 70"] == ("INFP 70.0, LP 70.7", True)
    ms["pseudo_anomaly"] = row(0.519)
    rows = {t: (m, ok) for t, m, ok in bq.targets(ms, labels)}
    assert rows["every seed method ≥ 70"] == ("INFP 70.0, PA 51.9, LP 70.7", False)
    assert "every seed method ≥ 70" not in {t for t, _, _ in bq.targets({"knn": row(0.874)}, labels)}


def test_a_setting_override_may_name_a_schema_default_and_a_typo_is_refused():
    """``--set``: a key params.yaml leaves at its schema default (a method's ``persist``, a nested
    section's key) is set; a key neither params.yaml nor the schema has stops the benchmark with its name."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _common import apply_overrides

    from ipad_vad.config import load_params

    p = load_params(ROOT / "params.yaml", "demo")
    assert "persist" not in p["methods"]["feature_bank"]
    apply_overrides(p, ["methods.feature_bank.persist=2", "methods.feature_bank.nuisances.shift=0", "alert.smooth=3"])
    fb = p["methods"]["feature_bank"]
    assert (fb["persist"], fb["nuisances"], fb["steps"], p["alert"]["smooth"]) == (2, {"shift": 0}, 3000, 3)
    for typo in ("methods.feature_bank.persit=2", "alert.smoth=3", "methods.feature_bank.nuisances.shfit=0"):
        with pytest.raises(SystemExit, match=typo.partition("=")[0]):
            apply_overrides(p, [typo])
