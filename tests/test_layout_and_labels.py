import numpy as np
import pytest
import scipy.io

from ipad_vad.data.frames import JpegFolderSource, list_frame_files, missing_indices
from ipad_vad.data.labels import load_labels, load_mat_labels
from ipad_vad.data.layout import scan_ipad
from ipad_vad.data.manifest import build_manifest
from ipad_vad.data.periods import frame_phases
from ipad_vad.errors import DataError

from .helpers import frame, make_ipad_tree, write_frames


def test_scan_reads_padded_and_unpadded_names_in_numeric_order(tmp_path):
    root = make_ipad_tree(tmp_path / "ipad", n_frames=15)
    entries = scan_ipad(root)
    assert [e.key for e in entries][:4] == ["R01/training/01", "R01/training/02", "R01/testing/01", "R01/testing/02"]
    for scene in ("S01", "R01"):
        files = list_frame_files(root / scene / "training" / "frames" / "01")
        assert [int(p.stem) for p in files] == list(range(15))  # 10.jpg after 9.jpg, 010.jpg after 009.jpg
    assert (root / "R01/training/frames/01/007.jpg").exists() and (root / "S01/training/frames/01/7.jpg").exists()
    # frame content follows the number, not the lexical order
    src = JpegFolderSource(root / "R01/training/frames/01")
    got = src.read([9, 10, 11])[:, :4, :, :].mean(axis=(1, 2, 3))  # background = 30 + 3 i + 20 scene
    assert np.abs(got - [77, 80, 83]).max() <= 1.5  # R01 is scene 1: +20


def test_manifest_counts_frames_labels_and_anomalies(tmp_path):
    root = make_ipad_tree(tmp_path / "ipad", n_frames=30)
    m = build_manifest(root)
    assert len(m) == 8
    assert set(m.n_frames) == {30}
    test = m[m.split == "testing"]
    assert list(test.n_labels) == [30] * 4
    assert sorted(test.n_anomalous) == [0, 0, 10, 10]
    assert (m[m.split == "training"].n_labels == -1).all()
    assert set(zip(m.height, m.width)) == {(24, 32)}
    assert (m.n_unreadable == 0).all() and (m.n_gaps == 0).all()
    assert m.fps.eq(25.0).all()  # from the period annotation


def test_gaps_and_duplicates_are_detected(tmp_path):
    d = tmp_path / "v"
    write_frames(d, 5)
    (d / "2.jpg").unlink()
    assert missing_indices(list_frame_files(d)) == [2]
    import shutil

    shutil.copy(d / "3.jpg", d / "003.jpg")
    with pytest.raises(DataError, match="003.jpg|3.jpg"):
        list_frame_files(d)


def test_mat_labels_alternative(tmp_path):
    root = make_ipad_tree(tmp_path / "ipad", scenes=("S01",), n_frames=12)
    sd = root / "S01"
    for p in (sd / "test_label").iterdir():
        p.unlink()
    (sd / "test_label").rmdir()
    gt = np.empty((1, 2), dtype=object)
    gt[0, 0] = np.array([[0] * 6 + [1] * 6])
    gt[0, 1] = np.zeros(12)
    scipy.io.savemat(sd / "S01.mat", {"gt": gt})
    assert [a.tolist() for a in load_mat_labels(sd / "S01.mat")] == [[0] * 6 + [1] * 6, [0] * 12]
    m = build_manifest(root)
    test = m[m.split == "testing"].sort_values("video")
    assert list(test.n_anomalous) == [6, 0] and list(test.n_labels) == [12, 12]
    assert test.label_path.str.endswith("S01.mat").all()
    with pytest.raises(DataError, match=r"S01.mat.*video 03"):
        load_labels(sd / "S01.mat", "03")


@pytest.mark.parametrize(
    "bad,match",
    [
        (np.array([0, 1, 2]), "0/1"),
        (np.array(["a", "b"]), "dtype"),
        (np.zeros((3, 2)), "1-D"),
    ],
)
def test_bad_label_files_are_rejected_with_their_name(tmp_path, bad, match):
    p = tmp_path / "007.npy"
    np.save(p, bad)
    with pytest.raises(DataError, match=match) as e:
        load_labels(p, "07")
    assert "007.npy" in str(e.value)


def test_frame_phases_follow_cycle_starts_and_extrapolate():
    ph = frame_phases([4, 14, 24], 30)
    assert ph[4] == 0 and ph[14] == 0 and ph[24] == 0
    assert ph[9] == pytest.approx(0.5) and ph[19] == pytest.approx(0.5)
    assert ph[0] == pytest.approx(0.6)  # 4 frames before a 10-frame cycle starts
    assert ph[29] == pytest.approx(0.5)  # extrapolated with the last cycle's length
    assert frame(0).shape == (24, 32, 3)


def test_atomic_writes_have_normal_permissions_and_leave_nothing_on_failure(tmp_path):
    from ipad_vad.io_utils import atomic_dir, write_json

    write_json(tmp_path / "a.json", {"x": 1})
    assert (tmp_path / "a.json").stat().st_mode & 0o044 == 0o044  # group/other readable
    with pytest.raises(RuntimeError):
        with atomic_dir(tmp_path / "d") as d:
            (d / "f").write_text("half")
            raise RuntimeError("crash")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
    with atomic_dir(tmp_path / "d") as d:
        (d / "f").write_text("whole")
    assert (tmp_path / "d").stat().st_mode & 0o055 == 0o055
