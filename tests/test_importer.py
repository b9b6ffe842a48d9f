import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ipad_vad.data.importer import import_source
from ipad_vad.data.layout import scan_ipad
from ipad_vad.data.manifest import build_manifest
from ipad_vad.data.video_reader import VideoFileSource
from ipad_vad.errors import DataError

from .helpers import make_ipad_tree, write_video


def _video_tree(src: Path) -> None:
    write_video(src / "conveyor" / "training" / "morning.mkv", 30)
    write_video(src / "conveyor" / "training" / "evening.mkv", 25)
    write_video(src / "conveyor" / "test" / "jam.mkv", 30)
    labels = np.zeros(30, np.uint8)
    labels[12:20] = 1
    np.save(src / "conveyor" / "test" / "jam.npy", labels)


def test_import_video_folder_into_ipad_layout(tmp_path):
    src, out = tmp_path / "footage", tmp_path / "data"
    _video_tree(src)
    rep = import_source(src, out)
    assert not rep.quarantined
    assert sorted(r["as"] for r in rep.imported) == [
        "conveyor/testing/01",
        "conveyor/training/01",
        "conveyor/training/02",
    ]
    # numbered in file-name order: evening < morning
    sources = json.loads((out / "conveyor/sources.json").read_text())
    assert sources["training/01"]["source"].endswith("evening.mkv") and sources["training/01"]["n_frames"] == 25
    m = build_manifest(out)
    test = m[m.split == "testing"].iloc[0]
    assert test.n_frames == 30 and test.n_labels == 30 and test.n_anomalous == 8
    assert test.source.endswith("jam.mkv") and test.fps == pytest.approx(25.0)
    # the frames written decode back to what decord read from the video (JPEG q95: close)
    from ipad_vad.data.frames import JpegFolderSource

    a = JpegFolderSource(out / "conveyor/training/frames/02").read(range(30)).astype(int)
    b = VideoFileSource(src / "conveyor/training/morning.mkv").read(range(30)).astype(int)
    assert np.abs(a - b).mean() < 4  # JPEG q95 on tiny, sharp-edged frames


def test_reimport_changes_nothing_and_new_file_gets_next_number(tmp_path):
    src, out = tmp_path / "footage", tmp_path / "data"
    _video_tree(src)
    import_source(src, out)
    before = sorted((p.relative_to(out), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file())
    rep = import_source(src, out)
    assert not rep.imported and len(rep.unchanged) == 3
    # not one file of the dataset touched (a new report would make a new DVC data version)
    assert sorted((p.relative_to(out), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()) == before
    assert rep.path == tmp_path / "data.import_report.json" and rep.path.is_file()
    write_video(src / "conveyor" / "training" / "night.mkv", 20)
    rep = import_source(src, out)
    assert [r["as"] for r in rep.imported] == ["conveyor/training/03"]


def test_bad_inputs_are_quarantined_by_name_and_the_rest_imported(tmp_path):
    src, out = tmp_path / "footage", tmp_path / "data"
    _video_tree(src)
    d = src / "conveyor" / "training"
    full = (d / "morning.mkv").read_bytes()
    (d / "cut.mkv").write_bytes(full[: len(full) // 3])  # truncated
    (d / "notes.mp4").write_text("not a video")  # non-video file with a video name
    (d / "readme.txt").write_text("hello")  # not a video extension
    write_video(src / "conveyor" / "test" / "short_labels.mkv", 30)
    np.save(src / "conveyor" / "test" / "short_labels.npy", np.zeros(29, np.uint8))
    write_video(src / "conveyor" / "test" / "float_labels.mkv", 30)
    np.save(src / "conveyor" / "test" / "float_labels.npy", np.full(30, 0.5))
    rep = import_source(src, out)
    assert len(rep.imported) == 3
    reasons = {Path(q["path"]).name: q["reason"] for q in rep.quarantined}
    assert set(reasons) == {"cut.mkv", "notes.mp4", "short_labels.npy", "float_labels.npy"}
    assert "29" in reasons["short_labels.npy"] and "0/1" in reasons["float_labels.npy"]
    assert [Path(i["path"]).name for i in rep.ignored] == ["readme.txt"]
    # no half-written video, and the report is on disk
    assert [e.key for e in scan_ipad(out)] == ["conveyor/training/01", "conveyor/training/02", "conveyor/testing/01"]
    assert not list(out.rglob("*.tmp"))
    assert len(json.loads((out / "import_report.json").read_text())["quarantined"]) == 4


def test_empty_folder_and_missing_scene_are_clear_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no video files or IPAD scenes") as e:
        import_source(tmp_path / "empty", tmp_path / "out")
    assert "empty" in str(e.value)
    write_video(tmp_path / "loose" / "a.mkv", 20)
    with pytest.raises(DataError, match="--scene") as e:
        import_source(tmp_path / "loose", tmp_path / "out")
    assert "a.mkv" in str(e.value)
    rep = import_source(tmp_path / "loose", tmp_path / "out", scene="press", split="train")
    assert [r["as"] for r in rep.imported] == ["press/training/01"]


def test_import_ipad_tree_quarantines_bad_videos(tmp_path):
    src = make_ipad_tree(tmp_path / "IPAD_dataset", n_frames=20)
    (src / "S01/training/frames/02/3.jpg").write_bytes(b"\xff\xd8\x00\x01broken")  # corrupt JPEG
    np.save(src / "R01/test_label/001.npy", np.zeros(17, np.uint8))  # wrong length
    (src / "R01/training/frames/02").mkdir(exist_ok=True)
    for p in (src / "R01/training/frames/02").iterdir():
        p.unlink()  # empty frame folder
    out = tmp_path / "data"
    rep = import_source(src, out, min_frames=16)
    q = {q["path"]: q["reason"] for q in rep.quarantined}
    assert len(rep.imported) == 5 and len(q) == 3
    assert any("3.jpg" in r for r in q.values())
    assert any("001.npy" in r and "n_labels=17" in r for r in q.values())
    assert any("no frames" in r for r in q.values())
    m = build_manifest(out)
    assert len(m) == 5 and (m.n_unreadable == 0).all()
    # periods, labels and anomaly types travel with the videos (labels normalised to .npy)
    assert (out / "S01/periods/testing_01.json").is_file() and (out / "S01/test_label/001.npy").is_file()
    # a second import of the same tree changes nothing
    rep2 = import_source(src, out, min_frames=16)
    assert not rep2.imported and len(rep2.unchanged) == 5


def _ipad(*args, cwd):
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "ipad_vad.cli", *args], cwd=cwd, capture_output=True, text=True, env=env
    )


def test_cli_import_validate_info(tmp_path):
    # brackets in paths and details are printed literally (issue 16: rich markup ate `[cam]`, `[v2]`
    # and the validation details `[n_frames=…, n_labels=…]`)
    src = tmp_path / "odd src [cam]"
    _video_tree(src)
    (src / "conveyor" / "training" / "[v2] bad.mp4").write_text("nope")
    r = _ipad("data", "import", str(src), "--out", "data/ipad", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "quarantined 1" in r.stdout and f"{src}/conveyor/training/[v2] bad.mp4" in r.stdout, r.stdout
    r = _ipad(
        "data",
        "validate",
        "--root",
        "data/ipad",
        "--manifest",
        "data/manifest.parquet",
        "--report-dir",
        "reports/validation",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all checks passed" in r.stdout
    r = _ipad("data", "info", "--manifest", "data/manifest.parquet", cwd=tmp_path)
    assert r.returncode == 0 and "conveyor" in r.stdout and "8 (27%)" in r.stdout
    # plant the R02-style defect: the gate fails, exit 1, names the file
    np.save(tmp_path / "data/ipad/conveyor/test_label/001.npy", np.zeros(31, np.uint8))
    r = _ipad("data", "validate", "--root", "data/ipad", "--report-dir", "reports/validation", cwd=tmp_path)
    assert r.returncode == 1 and "001.npy" in r.stdout and "label_length_equals_frame_count" in r.stdout
    assert "[n_frames=30, n_labels=31]" in r.stdout, r.stdout
    assert json.loads((tmp_path / "reports/validation/result.json").read_text())["success"] is False
    r = _ipad("data", "import", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert r.returncode == 2 and "nowhere: source does not exist" in r.stderr


def test_scene_names_that_the_pipeline_cannot_use_are_refused_at_import(tmp_path):
    """Issue 16: `press 3` and `Presse-ü` were imported and only refused later by `ipad data scenes`."""
    src, out = tmp_path / "footage", tmp_path / "data"
    write_video(src / "press 3" / "training" / "a.mkv", 20)
    write_video(src / "Presse-ü" / "training" / "a.mkv", 20)
    write_video(src / "press-3" / "training" / "a.mkv", 20)
    rep = import_source(src, out)
    assert [r["as"] for r in rep.imported] == ["press-3/training/01"]
    reasons = {Path(q["path"]).parent.parent.name: q["reason"] for q in rep.quarantined}
    assert set(reasons) == {"press 3", "Presse-ü"} and "scene name 'press 3' is not allowed" in reasons["press 3"]
    assert not (out / "press 3").exists() and not (out / "Presse-ü").exists()
    with pytest.raises(DataError, match=r"scene name 'press 3' is not allowed.*\(--scene\)"):
        import_source(src / "press-3" / "training", out, scene="press 3")
    tree = tmp_path / "tree"
    make_ipad_tree(tree, scenes=("S 1",))
    rep = import_source(tree, tmp_path / "data2", min_frames=16)
    assert not rep.imported and rep.quarantined and all("scene name 'S 1'" in q["reason"] for q in rep.quarantined)


def test_anomaly_type_names_come_from_the_footage_never_from_the_generator(tmp_path):
    """Issue 16: footage with its own type codes was reported under the generator's names (its code 4
    shown as "tilt"). Names come from the footage's anomaly_types.json, carried by import; without one,
    types are shown by code."""
    from ipad_vad.data.layout import read_type_names
    from ipad_vad.evaluate.protocols import per_type_auc

    tree = tmp_path / "tree"
    make_ipad_tree(tree, scenes=("press",), padded_scene=None)
    (tree / "press" / "test_types").mkdir(exist_ok=True)
    for f in (tree / "press" / "test_label").iterdir():  # someone else's scheme: their code 4 is a jam
        np.save(tree / "press" / "test_types" / f.name, np.load(f).astype(np.int16) * 4)
    out = tmp_path / "data"
    import_source(tree, out, min_frames=16)
    assert read_type_names(out, "press") == {}  # none declared: shown by code
    labels, types = np.array([0, 0, 1, 1]), np.array([0, 0, 4, 4])
    assert set(per_type_auc(labels, types, np.array([0.1, 0.2, 0.8, 0.9]), read_type_names(out, "press"))) == {"4"}
    (tree / "anomaly_types.json").write_text(json.dumps({"jam": {"code": 4, "family": "motion"}}))
    out2 = tmp_path / "data2"
    import_source(tree, out2, min_frames=16)
    assert (out2 / "press" / "anomaly_types.json").is_file() and read_type_names(out2, "press") == {4: "jam"}
    (out2 / "press" / "anomaly_types.json").write_text('{"jam": 4}')
    with pytest.raises(DataError, match="anomaly_types.json: anomaly type names must be"):
        read_type_names(out2, "press")


def test_corrected_labels_are_new_data_for_video_files_and_ipad_trees(tmp_path):
    """Issue 16 (2): a re-import with a fixed label file rewrites the labels and reports them as a new
    data version (the report lands inside the data folder); the frames stay untouched."""
    src, out = tmp_path / "footage", tmp_path / "data"
    _video_tree(src)
    import_source(src, out)
    frames_before = sorted((p.relative_to(out), p.stat().st_mtime_ns) for p in (out / "conveyor/testing").rglob("*"))
    fixed = np.zeros(30, np.uint8)
    fixed[10:22] = 1
    np.save(src / "conveyor" / "test" / "jam.npy", fixed)
    rep = import_source(src, out)
    assert not rep.imported and not rep.quarantined
    assert [r["as"] for r in rep.relabelled] == ["conveyor/testing/01"] and "jam.npy" in rep.relabelled[0]["labels"]
    assert np.array_equal(np.load(out / "conveyor/test_label/001.npy"), fixed)
    assert rep.path == out / "import_report.json"  # a new data version carries its report
    assert (
        sorted((p.relative_to(out), p.stat().st_mtime_ns) for p in (out / "conveyor/testing").rglob("*"))
        == frames_before
    )
    again = import_source(src, out)
    assert not again.relabelled and len(again.unchanged) == 3
    bad = np.zeros(31, np.uint8)  # a corrected file of the wrong length is refused, the old labels kept
    np.save(src / "conveyor" / "test" / "jam.npy", bad)
    rep = import_source(src, out)
    assert not rep.relabelled and "jam.npy" in rep.quarantined[0]["path"] and "31" in rep.quarantined[0]["reason"]
    assert np.array_equal(np.load(out / "conveyor/test_label/001.npy"), fixed)

    tree, out2 = make_ipad_tree(tmp_path / "IPAD_dataset", n_frames=20), tmp_path / "data2"
    import_source(tree, out2)
    relabel = np.zeros(20, np.uint8)
    relabel[3:9] = 1
    np.save(tree / "R01/test_label/001.npy", relabel)
    rep = import_source(tree, out2)
    assert [r["as"] for r in rep.relabelled] == ["R01/testing/01"] and len(rep.unchanged) == 7
    assert np.array_equal(np.load(out2 / "R01/test_label/001.npy"), relabel)


def test_a_video_file_may_be_in_one_split_only(tmp_path):
    """Issue 16 (3): a training file byte-identical to an imported testing video is refused by name,
    not reported 'unchanged' as the testing video; the same file again in its own split is unchanged."""
    src, out = tmp_path / "footage", tmp_path / "data"
    _video_tree(src)
    import_source(src, out)
    (src / "conveyor" / "training" / "jam_again.mkv").write_bytes((src / "conveyor" / "test" / "jam.mkv").read_bytes())
    (src / "conveyor" / "training" / "morning_copy.mkv").write_bytes(
        (src / "conveyor" / "training" / "morning.mkv").read_bytes()
    )
    rep = import_source(src, out)
    assert not rep.imported
    (q,) = rep.quarantined
    assert q["path"].endswith("jam_again.mkv")
    assert "testing/01" in q["reason"] and "one split only" in q["reason"]
    assert sorted(r["as"] for r in rep.unchanged) == [
        "conveyor/testing/01",
        "conveyor/training/01",
        "conveyor/training/02",
        "conveyor/training/02",
    ]


def test_a_second_import_into_the_same_folder_is_refused_naming_who_holds_it(tmp_path):
    """Issue 16 (7): one import at a time per data folder; the second stops at once naming the first
    (not a raw FileExistsError), and the lock goes with its process - a killed import leaves none."""
    import signal
    import textwrap

    from ipad_vad.data.import_lock import lock_paths

    src, out = tmp_path / "footage", tmp_path / "data"
    _video_tree(src)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import time
        from ipad_vad.data.import_lock import import_lock
        with import_lock({str(out)!r}, "ipad data import other-footage"):
            print("held", flush=True)
            time.sleep(120)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(
            DataError,
            match=f"another import is writing into this folder "
            f"\\(ipad data import other-footage - process {holder.pid} on ",
        ):
            import_source(src, out)
        assert not (out / "conveyor").exists()  # nothing written by the refused import
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    rep = import_source(src, out)  # the killed holder left no stale lock
    assert len(rep.imported) == 3
    lock, holder_file = lock_paths(out)
    assert lock.parent == out.parent and not holder_file.exists()  # beside the versioned folder, not in it
    assert not any(p.name.startswith(".data.import") for p in out.rglob("*"))


def test_ingest_with_a_missing_landing_folder_is_one_line(tmp_path):
    """Issue 16 (7): the error is checked before the retraining flow starts, so it is not buried under
    a failed flow run's logs."""
    env = dict(os.environ, COLUMNS="200")
    r = subprocess.run(
        [sys.executable, "-m", "flows.cli", "ingest", str(tmp_path / "nowhere"), "--no-commit"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        env=env,
    )
    lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert r.returncode == 2
    assert lines == [
        f"error: {tmp_path / 'nowhere'}: landing folder does not exist (cameras drop footage at "
        "<landing>/<device>/[<split>/]<name>.mp4)"
    ]


FAULT_POINTS = ("journal-written", "frame-written", "frames-renamed", "labels-written", "periods-written", "recorded")


def _tree_bytes(root: Path) -> dict:
    """Every file of a data folder and its bytes, but the import report (which describes a run)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "import_report.json"
    }


@pytest.mark.parametrize("kind", ["videos", pytest.param("ipad_tree", marks=pytest.mark.slow)])
def test_an_import_killed_at_any_write_point_is_completed_by_the_next_one(tmp_path, kind):
    """Issue 16 (1): kill -9 (os._exit via the fault hook, data/fault_points.py) at every write point
    of an import, on the first and on a later video; the re-run's data folder equals an uninterrupted
    import's byte for byte - nothing lost, nothing duplicated, no temporary folders left."""
    if kind == "videos":
        src = tmp_path / "footage"
        _video_tree(src)
    else:
        src = make_ipad_tree(tmp_path / "IPAD_dataset", scenes=("S01",), n_train=2, n_test=2, n_frames=20)
    reference = tmp_path / "reference"
    import_source(src, reference)
    expected = _tree_bytes(reference)
    runs = 0
    for point in FAULT_POINTS:
        for nth in (1, 3) if point in ("frame-written", "recorded") else (2,):  # first / later video
            out = tmp_path / f"out-{point}-{nth}"
            env = dict(os.environ, IPAD_FAULT=f"{point}:{nth}")
            r = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import sys; from ipad_vad.data.importer import import_source; "
                    "import_source(sys.argv[1], sys.argv[2])",
                    str(src),
                    str(out),
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            assert r.returncode in (0, 137), r.stderr  # 0: this point is reached fewer than nth times here
            runs += r.returncode == 137
            rep = import_source(src, out)
            assert _tree_bytes(out) == expected, f"killed at {point} #{nth}"
            assert not rep.quarantined
            again = import_source(src, out)
            assert not again.imported and not again.reconciled  # complete: a third run changes nothing
    assert runs >= 6  # the kills really happened


def test_a_label_file_beside_a_training_video_never_overwrites_a_test_videos_labels(tmp_path):
    """Issue 29 (1): `a.npy` beside training video `a` was written as `test_label/001.npy`, over test
    video 01's labels (every AUC after it silently wrong). Training footage is normal by contract: an
    all-zero file is ignored (listed), one with anomalous frames refuses the video naming the file."""
    src, out = tmp_path / "footage", tmp_path / "data"
    write_video(src / "cam1" / "testing" / "t.mkv", 30)
    labels = np.zeros(30, np.uint8)
    labels[5:15] = 1
    np.save(src / "cam1" / "testing" / "t.npy", labels)
    write_video(src / "cam1" / "training" / "a.mkv", 25)
    np.save(src / "cam1" / "training" / "a.npy", np.zeros(25, np.uint8))
    rep = import_source(src, out)
    assert sorted(r["as"] for r in rep.imported) == ["cam1/testing/01", "cam1/training/01"] and not rep.quarantined
    assert np.load(out / "cam1/test_label/001.npy").sum() == 10
    assert sorted(p.name for p in (out / "cam1/test_label").iterdir()) == ["001.npy"]
    (ign,) = rep.ignored
    assert ign["path"].endswith("training/a.npy") and "all frames normal" in ign["reason"]
    # anomalous frames beside a training video: the video is refused, naming the label file
    write_video(src / "cam1" / "training" / "b.mkv", 20)
    bad = np.zeros(20, np.uint8)
    bad[:4] = 1
    np.save(src / "cam1" / "training" / "b.npy", bad)
    np.save(src / "cam1" / "training" / "a.npy", np.ones(25, np.uint8))  # and beside an imported one
    rep = import_source(src, out)
    assert not rep.imported and not rep.relabelled
    reasons = {Path(q["path"]).name: q["reason"] for q in rep.quarantined}
    assert set(reasons) == {"a.npy", "b.npy"}
    assert "marks 4 of 20 frames anomalous, but b.mkv is training footage, which must be normal" in reasons["b.npy"]
    assert "a.mkv was imported as cam1/training/01, training footage, which must be normal" in reasons["a.npy"]
    assert not (out / "cam1/training/frames/02").exists()
    assert np.array_equal(np.load(out / "cam1/test_label/001.npy"), labels)
    assert sorted(p.name for p in (out / "cam1/test_label").iterdir()) == ["001.npy"]


def test_an_empty_or_unreadable_label_file_is_quarantined_and_the_rest_imported(tmp_path):
    """Issue 29 (2): a 0-byte label file made np.load raise EOFError, which aborted the whole import
    (`Aborted.`, exit 1, the later videos not imported, no report, no file named)."""
    src, out = tmp_path / "footage", tmp_path / "data"
    _video_tree(src)
    write_video(src / "conveyor" / "test" / "empty.mkv", 20)
    (src / "conveyor" / "test" / "empty.npy").write_bytes(b"")
    write_video(src / "conveyor" / "test" / "cut.mkv", 22)
    np.save(src / "conveyor" / "test" / "cut.npy", np.zeros(22, np.uint8))
    (src / "conveyor" / "test" / "cut.npy").write_bytes((src / "conveyor" / "test" / "cut.npy").read_bytes()[:100])
    r = _ipad("data", "import", str(src), "--out", "data", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "imported 3, relabelled 0, unchanged 0, quarantined 2" in r.stdout, r.stdout
    assert f"{src}/conveyor/test/empty.npy: cannot read label file: it is empty (0 bytes)" in r.stdout
    assert f"{src}/conveyor/test/cut.npy: cannot read label file" in r.stdout
    rep = json.loads((out / "import_report.json").read_text())
    assert sorted(Path(q["path"]).name for q in rep["quarantined"]) == ["cut.npy", "empty.npy"]
    assert [e.key for e in scan_ipad(out)] == ["conveyor/training/01", "conveyor/training/02", "conveyor/testing/01"]
    # an emptied label file in the data folder is replaced by the source's on the next import
    (out / "conveyor/test_label/001.npy").write_bytes(b"")
    rep = import_source(src, out)
    assert [r["as"] for r in rep.relabelled] == ["conveyor/testing/01"]
    assert np.load(out / "conveyor/test_label/001.npy").sum() == 8


def test_a_frame_that_does_not_decode_is_quarantined_at_import_naming_it(tmp_path):
    """Issue 29 (4): only three frames per video were decoded at import, so a frame with intact JPEG
    markers but undecodable data was imported (and failed later, in prepare). Every frame is decoded."""
    src = make_ipad_tree(tmp_path / "IPAD_dataset", n_frames=20)
    bad = src / "S01/training/frames/02/5.jpg"
    bad.write_bytes(b"\xff\xd8" + bytes(200) + b"\xff\xd9")  # markers intact, nothing decodable between
    out = tmp_path / "data"
    rep = import_source(src, out, min_frames=16)
    (q,) = rep.quarantined
    assert q["path"] == str(bad)
    assert "cannot decode frame" in q["reason"] and "video S01/training/02 not imported" in q["reason"]
    assert len(rep.imported) == 7 and not (out / "S01/training/frames/02").exists()
    assert "training/02" not in json.loads((out / "S01/sources.json").read_text())
    assert not list(out.rglob("*.tmp"))


def _no_import_left_half_done(out: Path) -> None:
    assert not list(out.rglob(".*.tmp"))
    for sources in out.glob("*/sources.json"):
        assert not any(v.get("importing") for v in json.loads(sources.read_text()).values()), sources


def test_a_full_disk_stops_the_import_with_one_line_naming_the_path_and_the_report(tmp_path):
    """Issue 29 (5): ENOSPC mid-import was an 18-frame traceback naming no path, the later videos
    skipped, no report. Now: one line naming the path and the full disk, the video being written
    undone, the report of what was imported before; the next import, with space, completes it.
    The full disk is injected (data/fault_points.py, IPAD_FAULT=<point>:<n>:enospc)."""
    src = tmp_path / "footage"
    _video_tree(src)  # imported in this order: test/jam (30 frames), training/evening (25), training/morning
    reference = tmp_path / "reference"
    import_source(src, reference)
    env = dict(os.environ, COLUMNS="200", IPAD_FAULT="frame-written:40:enospc")  # frame 9 of evening
    r = subprocess.run(
        [sys.executable, "-m", "ipad_vad.cli", "data", "import", str(src), "--out", "data"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    out = tmp_path / "data"
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines() == [
        "error: data/conveyor/training/frames/01: no space left on device (the disk is full) while writing "
        "frame 9.jpg; the import stopped: 1 video(s) imported and 0 relabelled before are kept (listed in "
        "data/import_report.json), what was half written is undone; free space and run the same import again"
    ]
    assert "imported 1, relabelled 0, unchanged 0, quarantined 0" in r.stdout and "Traceback" not in r.stdout + r.stderr
    written = json.loads((out / "import_report.json").read_text())
    assert [x["as"] for x in written["imported"]] == ["conveyor/testing/01"]
    _no_import_left_half_done(out)
    assert [e.key for e in scan_ipad(out)] == ["conveyor/testing/01"]
    rep = import_source(src, out)  # space again: the rest is imported, as if nothing had happened
    assert len(rep.imported) == 2 and len(rep.unchanged) == 1 and not rep.reconciled
    assert _tree_bytes(out) == _tree_bytes(reference)


@pytest.mark.parametrize(
    "kind,point",
    [
        ("videos", "journal-written:2"),
        ("videos", "labels-written:1"),
        ("ipad_tree", "frame-written:30"),
        ("ipad_tree", "periods-written:2"),
    ],
)
def test_a_full_disk_at_any_write_leaves_the_data_folder_consistent(tmp_path, monkeypatch, kind, point):
    """Issue 29 (5), in-process at other write points: DiskFull (a DataError: one line) naming the file,
    nothing half-written, the report lists exactly what is in the folder, the next import completes it."""
    from ipad_vad.data import fault_points
    from ipad_vad.data.importer import DiskFull

    if kind == "videos":
        src = tmp_path / "footage"
        _video_tree(src)
    else:
        src = make_ipad_tree(tmp_path / "IPAD_dataset", scenes=("S01",), n_train=2, n_test=2, n_frames=20)
    reference, out = tmp_path / "reference", tmp_path / "data"
    import_source(src, reference)
    fault_points.reset()
    monkeypatch.setenv("IPAD_FAULT", f"{point}:enospc")
    with pytest.raises(DiskFull, match="no space left on device \\(the disk is full\\)") as e:
        import_source(src, out)
    assert isinstance(e.value, DataError) and "\n" not in str(e.value)
    assert Path(e.value.path).is_relative_to(out)
    _no_import_left_half_done(out)
    in_folder = [x.key for x in scan_ipad(out)] if any(out.glob("*/*/frames/*")) else []
    assert sorted(x["as"] for x in e.value.report.imported) == sorted(in_folder)
    monkeypatch.delenv("IPAD_FAULT")
    import_source(src, out)
    assert _tree_bytes(out) == _tree_bytes(reference)


def test_calibration_footage_is_imported_as_normal_footage_of_its_own_split(tmp_path):
    """Issue 26: long normal footage the alert threshold is set on goes to ``<scene>/calibration/``
    (``--split calibration`` or a ``calibration/`` folder), keeps its frame rate in the manifest (the
    threshold counts alerts per hour of it), and is normal by contract like training footage: a label
    file marking anomalous frames refuses it, naming the file."""
    src, out = tmp_path / "footage", tmp_path / "data"
    _video_tree(src)
    write_video(src / "conveyor" / "calibration" / "shift.mkv", 40)
    rep = import_source(src, out)
    assert "conveyor/calibration/01" in [r["as"] for r in rep.imported] and not rep.quarantined
    m = build_manifest(out)
    (row,) = m[m.split == "calibration"].itertuples()
    assert row.scene == "conveyor" and row.n_frames == 40 and row.fps > 0 and row.n_labels == -1
    assert not (out / "conveyor" / "test_label" / "002.npy").exists()
    write_video(tmp_path / "more.mkv", 20)
    rep = import_source(tmp_path / "more.mkv", out, scene="conveyor", split="calibration")
    assert [r["as"] for r in rep.imported] == ["conveyor/calibration/02"]
    write_video(tmp_path / "odd" / "c.mkv", 20)
    bad = np.zeros(20, np.uint8)
    bad[:3] = 1
    np.save(tmp_path / "odd" / "c.npy", bad)
    rep = import_source(tmp_path / "odd", out, scene="conveyor", split="calibration")
    assert not rep.imported
    (q,) = rep.quarantined
    assert q["path"].endswith("c.npy") and "c.mkv is calibration footage, which must be normal" in q["reason"]
