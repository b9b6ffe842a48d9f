import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from ipad_vad.config import load_params
from ipad_vad.data.clip_dataset import ClipDataset
from ipad_vad.data.manifest import build_manifest
from ipad_vad.data.synth.anomalies import ANOMALY_TYPES, LOOK_TYPES
from ipad_vad.data.synth.devices import DEVICES
from ipad_vad.data.synth.generator import SynthConfig, generate
from ipad_vad.data.synth.render import RenderConfig, VideoPlan, render_video
from ipad_vad.data.synth.scenes import SCENES
from ipad_vad.data.validation import validate_manifest
from ipad_vad.errors import ConfigError

SMOKE = SynthConfig.from_params(load_params("params.yaml", "smoke")["synth"])
CFG = RenderConfig(size=(48, 48), fps=3)


def _hashes(root):
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "ipad"
    generate(out, SMOKE)
    return out


def test_deterministic_per_seed_whatever_the_worker_count(smoke, tmp_path):
    again = tmp_path / "again"
    generate(again, SynthConfig.from_params(load_params("params.yaml", "smoke")["synth"], workers=1))
    assert _hashes(again) == _hashes(smoke)
    other = tmp_path / "other"
    generate(other, SynthConfig.from_params(load_params("params.yaml", "smoke")["synth"], seed=1, scenes=["S01"]))
    assert _hashes(other)["S01/training/frames/01/5.jpg"] != _hashes(smoke)["S01/training/frames/01/5.jpg"]


def test_layout_reads_back_and_passes_validation(smoke):
    m = build_manifest(smoke)
    assert sorted(m.scene.unique()) == ["R01", "S01", "S02"]
    test = m[m.split == "testing"]
    assert (test.n_labels == test.n_frames).all()  # labels match frame counts
    assert (m[m.split == "training"].n_anomalous == 0).all()
    for scene, g in test.groupby("scene"):  # both classes in every test scene
        assert 0 < g.n_anomalous.sum() < g.n_frames.sum(), scene
    kinds = [v["kind"] for v in json.loads((smoke / "synth.json").read_text())["videos"] if v["split"] == "testing"]
    assert kinds.count("normal") == 3 and kinds.count("abnormal") == 3 and kinds.count("mixed") == 3
    assert validate_manifest(m, min_frames=8).success
    ds = ClipDataset.from_manifest(m, "training", scenes=["S01"], clip_len=8)
    item = ds[0]
    assert item["clip"].shape == (3, 8, 32, 32) and 0 <= item["phase"] < 1
    types = json.loads((smoke / "anomaly_types.json").read_text())
    assert types["pause"] == {"code": 5, "family": "motion"}
    ds_test = ClipDataset.from_manifest(m, "testing", scenes=["S01"], clip_len=8)
    assert {ds_test[i]["type"] for i in range(len(ds_test))} - {0}, "anomaly types reach the clip dataset"


def test_import_of_generated_data_keeps_the_anomaly_types(smoke, tmp_path):
    from ipad_vad.data.importer import import_source

    import_source(smoke, tmp_path / "imported", min_frames=8)
    for p in sorted((smoke / "S01/test_types").iterdir()):
        assert (tmp_path / "imported/S01/test_types" / p.name).read_bytes() == p.read_bytes()


def test_periods_are_ground_truth_cycle_starts(smoke):
    per = json.loads((smoke / "S02/periods/training_01.json").read_text())
    nominal = json.loads((smoke / "S02/scene.json").read_text())["nominal_cycle_frames"]
    lengths = np.diff(per["cycle_starts"])
    assert per["cycle_starts"][0] == 0 and len(per["cycle_starts"]) == SMOKE.train_cycles
    assert np.all(np.abs(lengths - nominal) <= 0.15 * nominal)


def test_real_twin_differs_in_pixels_but_shares_cycle_length(tmp_path):
    out = tmp_path / "ipad"
    generate(
        out, SynthConfig(scenes=("S03", "R03"), size=(48, 48), train_videos=1, train_cycles=6, test_videos=2, workers=1)
    )
    m = build_manifest(out)
    from ipad_vad.data.frames import JpegFolderSource

    def stats(scene):
        f = JpegFolderSource(out / scene / "training/frames/01").read(range(40)).astype(np.float64)
        hf = np.abs(np.diff(f, axis=2)).mean()  # texture/noise energy
        return f.mean(axis=(0, 1, 2)), hf

    (s_mean, s_hf), (r_mean, r_hf) = stats("S03"), stats("R03")
    assert r_hf > 1.3 * s_hf  # texture + sensor noise
    assert r_mean[0] / r_mean[2] > 1.15 * s_mean[0] / s_mean[2]  # warm colour cast
    cycles = {
        s: np.median(np.diff(json.loads((out / s / "periods/training_01.json").read_text())["cycle_starts"]))
        for s in ("S03", "R03")
    }
    assert abs(cycles["S03"] - cycles["R03"]) <= 1
    assert SCENES["R03"].twin == "S03" and SCENES["R03"].device == SCENES["S03"].device
    assert len(m) == 6


def test_calibration_footage_is_made_with_the_shift_settings(tmp_path):
    """``synth.shift`` sets the calibration footage's everyday events (it kept its own defaults before):
    walkers at 600 an hour fill a minute of it with walkers, at 0 there is none; synth.json records the
    section, and a wrong key in it is refused by name."""

    def walkers(rate):
        cfg = SynthConfig.from_params(
            {
                "scenes": ["R04"], "size": [32, 32], "fps": 2, "train_videos": 1, "train_cycles": 2,
                "test_videos": 2, "test_cycles": 1, "workers": 1, "calibration_minutes": 1,
                "calibration_scenes": ["R04"], "shift": {"walkers_per_hour": rate},
            }
        )  # fmt: skip
        summary = generate(tmp_path / f"w{rate}", cfg)
        (cal,) = [v for v in summary["videos"] if v["split"] == "calibration"]
        assert summary["config"]["shift"]["walkers_per_hour"] == rate
        return sum(e["kind"] == "walker" for e in cal["events"])

    assert walkers(600) >= 5 and walkers(0) == 0
    with pytest.raises(ConfigError, match=r"synth\.shift\.walkers_per_hour"):
        SynthConfig.from_params({"shift": {"walkers_per_hour": -1}})


def _scene_for(kind):
    return next(n for n, s in SCENES.items() if kind in DEVICES[s.device].anomalies)


def _render_pair(kind, scene=None, params=None, seed=3):
    scene = scene or _scene_for(kind)
    plan = VideoPlan(scene, "testing", 2, 3, {1: (kind, params or {})}, "mixed")
    if kind in ("pause", "speed", "order", "missing_step"):
        from ipad_vad.data.synth.render import _event_params

        plan.events = {
            1: (kind, params or _event_params(DEVICES[SCENES[scene].device](), kind, np.random.default_rng(seed)))
        }
    return (
        render_video(plan, CFG, seed, nuisance=False),
        render_video(plan, CFG, seed, drop=(kind,), nuisance=False),
        render_video(plan, CFG, seed),
    )


@pytest.mark.parametrize("kind", LOOK_TYPES)
def test_look_anomaly_changes_exactly_the_labelled_frames(kind):
    a, cf, noisy = _render_pair(kind)
    code = ANOMALY_TYPES[kind]["code"]
    lab = a.labels.astype(bool)
    assert lab.any() and not lab.all()
    assert set(a.types[lab]) == {code} and not a.types[~lab].any()
    diff = np.array([np.abs(x.astype(int) - y).max() for x, y in zip(a.frames, cf.frames)])
    assert (diff[~lab] == 0).all(), "unlabelled frames must equal the normal render"
    assert (diff[lab] > 0).all(), "labelled frames must show the anomaly"
    assert np.median(diff[lab]) > 40, "and show it clearly"
    assert (noisy.labels == a.labels).all()  # nuisance does not move labels
    if kind == "color":  # the object's colour changed, not its place
        i = int(np.flatnonzero(lab)[len(np.flatnonzero(lab)) // 2])
        changed = np.abs(a.frames[i].astype(int) - cf.frames[i]).max(-1) > 20
        assert np.abs(a.frames[i][changed].mean(0) - cf.frames[i][changed].mean(0)).max() > 40


def test_shift_moves_the_workpiece():
    a, cf, _ = _render_pair("shift", "S02")
    i = int(np.flatnonzero(a.labels)[0]) + 2
    bg = a.frames[0].astype(int)  # the scene is static where nothing moves

    def centroid_x(img):
        mask = (img[..., 2].astype(int) - img[..., 0]) > 60  # the blue box
        return np.argwhere(mask)[:, 1].mean()

    assert abs(centroid_x(a.frames[i]) - centroid_x(cf.frames[i])) > 0.05 * CFG.size[1]
    assert bg.shape == (48, 48, 3)


def test_pause_holds_the_pose_and_is_invisible_in_any_single_frame():
    a, cf, _ = _render_pair("pause", "S09", {"at": 0.4, "length": 0.6})
    idx = np.flatnonzero(a.labels)
    assert len(idx) >= 3 and np.all(np.diff(idx) == 1)
    held = a.frames[idx[0] - 1]
    assert all(np.array_equal(a.frames[i], held) for i in idx), "pose held over the labelled span"
    assert not np.array_equal(a.frames[idx[-1] + 1], held), "the machine resumes after the span"
    # every paused frame is a pose of the normal cycle: nothing in one frame gives it away
    for i in idx:
        assert min(np.abs(a.frames[i].astype(int) - f).max() for f in cf.frames) == 0


def test_speed_change_changes_the_phase_rate_only_in_labelled_frames():
    for factor in (2.2, 0.45):
        a, _, _ = _render_pair("speed", "S06", {"start": 0.2, "end": 0.7, "factor": factor})
        ph = np.array([s.phase + s.cycle for s in a.timeline.states])
        rate = np.diff(ph)
        idx = np.flatnonzero(a.labels[1:])
        nominal = np.median(rate[np.flatnonzero(a.labels[1:] == 0)])
        assert np.median(rate[idx]) / nominal == pytest.approx(factor, rel=0.2)


def test_wrong_order_swaps_steps_and_each_frame_is_a_normal_pose():
    a, cf, _ = _render_pair("order", "S05", {"swap": (1, 3)})
    cyc = [s for s in a.timeline.states if s.cycle == 1]
    steps = [s.step for s in cyc]
    firsts = sorted(set(steps), key=steps.index)
    assert firsts == [0, 3, 2, 1, 4]
    lab_steps = {a.timeline.states[i].step for i in np.flatnonzero(a.labels)}
    assert lab_steps == {1, 3}
    # single frames: each labelled frame is close to some normal frame (same poses, other order)
    normal = np.stack(cf.frames).astype(int)
    for i in np.flatnonzero(a.labels)[::3]:
        assert np.abs(normal - a.frames[i]).mean(axis=(1, 2, 3)).min() < 2.0


def test_missing_step_skips_a_step_and_ends_the_cycle_early():
    a, cf, _ = _render_pair("missing_step", "S07", {"skip": 1})
    cyc = [s.step for s in a.timeline.states if s.cycle == 1]
    ref = [s.step for s in cf.timeline.states if s.cycle == 1]
    assert 1 not in cyc and 1 in ref and len(cyc) < len(ref)
    first_lab = int(np.flatnonzero(a.labels)[0])
    assert a.timeline.states[first_lab].step == 2 and a.timeline.states[first_lab - 1].step == 0


def test_every_device_supports_sensible_anomalies():
    for name, dev in DEVICES.items():
        d = dev()
        assert set(d.anomalies) <= set(ANOMALY_TYPES), name
        assert any(k in d.anomalies for k in ("color", "shape", "shift", "tilt")), name
        assert ("order" in d.anomalies) == bool(d.swappable), name
        assert ("missing_step" in d.anomalies) == bool(d.skippable), name
        assert all(s < len(d.steps) - 1 for s in d.skippable), name
    families = {ANOMALY_TYPES[k]["family"] for d in DEVICES.values() for k in d.anomalies}
    assert families == {"appearance", "position", "motion", "logic"}


def test_refuses_to_overwrite_and_unknown_settings(tmp_path, smoke):
    with pytest.raises(ConfigError, match="exists"):
        generate(smoke, SMOKE)
    with pytest.raises(ConfigError, match=r"synth\.sizee: unknown key; known here: \[.*'size'"):
        SynthConfig.from_params({"sizee": 3})
    with pytest.raises(ConfigError, match="unknown scenes"):
        SynthConfig.from_params({"scenes": ["X99"]})


def test_cli_synth_and_preview(tmp_path):
    import shutil

    shutil.copy("params.yaml", tmp_path / "params.yaml")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "ipad_vad.cli",
            "data",
            "synth",
            "--profile",
            "smoke",
            "--scenes",
            "S01,R01",
            "--out",
            "data/ipad",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert "frames/s" in r.stdout
    r = subprocess.run(
        [sys.executable, "-m", "ipad_vad.cli", "data", "preview", "--root", "data/ipad", "--out", "sheet.png"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    png = (tmp_path / "sheet.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
