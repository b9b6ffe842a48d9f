"""`ipad alerts` (issue 26, 5): list, mark and export alerts of `ipad score`; bad input is a one-line
error that changes nothing."""

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from ipad_vad.alerts.feedback import export_marks, list_alerts, mark_alert, read_marks
from ipad_vad.alerts.operator_settings import FeedbackSettings
from ipad_vad.cli import app
from ipad_vad.errors import DataError

from .helpers import write_frames, write_video


@pytest.fixture
def scored(tmp_path):
    """A scores folder as `ipad score` leaves it: two alerts of a 60-frame camera folder of device R01,
    whose data folder holds one training video."""
    cam = tmp_path / "cam01"
    write_frames(cam, 60)
    write_video(tmp_path / "src" / "R01" / "training" / "a.mkv", 20)
    from ipad_vad.data.importer import import_source

    import_source(tmp_path / "src", tmp_path / "data")
    scores = tmp_path / "scores"
    scores.mkdir()
    alerts = [
        {"start": 10, "end": 14, "peak_frame": 12, "peak_score": 5.0, "hot_frames": 5, "alert_id": "cam01:1"},
        {"start": 40, "end": 41, "peak_frame": 40, "peak_score": 3.0, "hot_frames": 2, "alert_id": "cam01:2"},
    ]
    (scores / "cam01.alerts.json").write_text(
        json.dumps(
            {
                "path": str(cam),
                "device": "R01",
                "model_uri": "models:/ipad-vad-R01/4",
                "model_version": "4",
                "fps": 2.0,
                "alerts": alerts,
            }
        )
    )
    return tmp_path, scores


def test_marks_become_training_and_labelled_test_footage_through_the_import(scored):
    tmp, scores = scored
    assert [(a.id, a.device, a.start, a.end, a.model_version) for a in list_alerts(scores)] == [
        ("cam01:1", "R01", 10, 14, "4"),
        ("cam01:2", "R01", 40, 41, "4"),
    ]
    mark_alert(scores, "cam01:1", "false_alarm", tmp / "data")
    mark_alert(scores, "cam01:2", "confirmed", tmp / "data", note="part jammed")
    res = export_marks(scores, tmp / "data", FeedbackSettings(context_frames=8))
    assert not res.failed
    assert {e["alert"]: e["as"] for e in res.exported} == {"cam01:1": "R01/training/02", "cam01:2": "R01/testing/01"}
    report = json.loads((tmp / "data" / "import_report.json").read_text())
    assert {r["as"] for r in report["imported"]} == {"R01/training/02", "R01/testing/01"}
    train = sorted((tmp / "data" / "R01" / "training" / "frames" / "02").iterdir())
    assert len(train) == (14 + 8) - (10 - 8) + 1  # the span and 8 frames each side
    labels = np.load(tmp / "data" / "R01" / "test_label" / "001.npy")
    assert labels.tolist() == [0] * 8 + [1] * 2 + [0] * 8  # 40-41 anomalous, 32-49 exported
    sources = json.loads((tmp / "data" / "R01" / "sources.json").read_text())
    assert "origin" not in sources["training/01"]  # footage imported as footage
    assert sources["training/02"]["origin"] == {
        "kind": "false_alarm",
        "alert": "cam01:1",
        "footage": str(tmp / "cam01"),
        "span": [10, 14],
        "frames": [8, 12],  # the alert's own frames in the exported video (it starts at frame 2)
        "model_version": "4",
    }
    assert sources["testing/01"]["origin"]["kind"] == "confirmed"
    from ipad_vad.data.manifest import build_manifest

    m = build_manifest(tmp / "data").set_index(["split", "video"])  # what calibration reads (jobs/calibrate.py)
    assert (m.origin[("training", "01")], m.origin[("training", "02")], m.origin[("testing", "01")]) == (
        "",
        "false_alarm",
        "confirmed",
    )
    assert (m.origin_frames[("training", "01")], m.origin_frames[("training", "02")]) == ("", "8-12")
    marks = read_marks(scores, FeedbackSettings())
    assert marks["cam01:1"]["exported"]["as"] == "R01/training/02" and marks["cam01:2"]["note"] == "part jammed"
    again = export_marks(scores, tmp / "data")  # exported once only
    assert again.exported == [] and again.report is None
    out = CliRunner().invoke(app, ["alerts", "list", "--scores", str(scores)])
    assert out.exit_code == 0 and "cam01:1" in out.output and "false_alarm -> R01/training/02" in out.output


def test_bad_input_is_one_line_and_changes_nothing(scored, tmp_path):
    tmp, scores = scored
    marks = scores / "alert_marks.json"
    with pytest.raises(DataError, match="no alert 'cam01:9' here"):
        mark_alert(scores, "cam01:9", "false_alarm", tmp / "data")
    assert not marks.exists()
    summary = scores / "cam01.alerts.json"
    s = json.loads(summary.read_text())
    summary.write_text(json.dumps({**s, "device": "R07"}))
    with pytest.raises(DataError, match="device R07 has no footage in the data folder"):
        mark_alert(scores, "cam01:1", "false_alarm", tmp / "data")
    assert not marks.exists()
    summary.write_text(json.dumps({**s, "path": str(tmp / "moved")}))
    with pytest.raises(DataError, match="footage of alert cam01:1 is gone"):
        mark_alert(scores, "cam01:1", "confirmed", tmp / "data")
    assert not marks.exists()
    before = sorted(p.relative_to(tmp) for p in (tmp / "data").rglob("*"))
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "ipad_vad.cli",
            "alerts",
            "false-alarm",
            "cam01:9",
            "--scores",
            str(scores),
            "--data",
            str(tmp / "data"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no alert 'cam01:9'" in r.stderr, r.stderr
    assert sorted(p.relative_to(tmp) for p in (tmp / "data").rglob("*")) == before and not marks.exists()


@pytest.mark.parametrize("cycle", [10.0, 12.5, 16.0, 20.0])
def test_the_period_steps_crop_keeps_every_marked_frames_clip(cycle):
    """An exported false alarm becomes a training recording that the period step crops to whole cycles
    (first start to last start). With the device's cycle known, the context exported around the span
    keeps the clip centred on each marked frame inside that crop, wherever the span falls in the cycle;
    the fixed 16 frames alone do not for the longer cycles (the crop then drops marked frames)."""
    from ipad_vad.alerts.feedback import context_frames
    from ipad_vad.preprocess.period import find_cycle_starts

    clip_len, rng = 16, np.random.default_rng(0)

    def crop_of(n: int, offset: float) -> tuple[int, int]:
        t = np.arange(n) + offset
        ang = 2 * np.pi * t / cycle
        sig = np.stack([np.cos(ang), np.sin(ang), np.cos(2 * ang)], 1) + 0.05 * rng.standard_normal((n, 3))
        tpl = np.stack([np.cos(a := 2 * np.pi * np.arange(round(cycle)) / cycle), np.sin(a), np.cos(2 * a)], 1)
        starts = find_cycle_starts(sig, tpl, cycle)
        if len(starts) == 1:  # as period_scene: one cycle length on
            starts.append(starts[0] + round(cycle))
        return starts[0], min(starts[-1], n)

    def kept(ctx: int) -> bool:
        for span in (1, 3, 8):
            for offset in np.linspace(0, cycle, 7, endpoint=False):
                n = span + 2 * ctx
                lo, hi = crop_of(n, offset)
                if lo > ctx - clip_len // 2 or hi < n - ctx + clip_len // 2:
                    return False
        return True

    settings = FeedbackSettings()
    assert kept(context_frames(settings, clip_len, cycle))
    if cycle >= 16:
        assert not kept(context_frames(settings, clip_len, None))  # what was exported before


def test_export_cuts_enough_of_the_devices_cycles_around_a_false_alarm(scored):
    """`ipad alerts export` reads each device's cycle from its prepared periods: R01's 8-frame cycle
    gives 1.75 cycles (14 frames) plus half of the smoke profile's 8-frame clip on each side of the
    alert, 18 frames instead of feedback.context_frames' 16."""
    from pathlib import Path

    tmp, scores = scored
    prepared = tmp / "prepared"
    (prepared / "devices" / "periods" / "R01").mkdir(parents=True)
    (prepared / "devices" / "periods" / "R01" / "periods.json").write_text(json.dumps({"cycle_frames": 8.0}))
    params = tmp / "params.yaml"
    root = Path(__file__).resolve().parents[1]
    params.write_text(
        (root / "params.yaml").read_text().replace("prepared_root: data/prepared", f"prepared_root: {prepared}", 1)
    )
    mark_alert(scores, "cam01:1", "false_alarm", tmp / "data")  # frames 10-14 of 60
    opts = ["--scores", str(scores), "--data", str(tmp / "data"), "--params", str(params), "--profile", "smoke"]
    out = CliRunner().invoke(app, ["alerts", "export", *opts])
    assert out.exit_code == 0, out.output
    assert len(list((tmp / "data" / "R01" / "training" / "frames" / "02").iterdir())) == (14 + 18) - 0 + 1
