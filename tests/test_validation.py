import json

import numpy as np
import pytest

from ipad_vad.data.manifest import build_manifest
from ipad_vad.data.validation import apply_policy, validate_manifest, write_report
from ipad_vad.errors import ValidationFailed

from .helpers import make_ipad_tree


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_ipad_tree(tmp_path_factory.mktemp("v") / "ipad", n_frames=24)


def test_clean_data_passes(tree):
    report = validate_manifest(build_manifest(tree))
    assert report.success, report.summary()
    assert "all checks passed" in report.summary()


def test_planted_label_length_mismatch_fails_and_names_the_file(tmp_path):
    root = make_ipad_tree(tmp_path / "ipad", n_frames=24)
    bad = root / "R01/test_label/002.npy"
    np.save(bad, np.zeros(20, np.uint8))  # like the R02 defect of the real release
    m = build_manifest(root)
    report = validate_manifest(m)
    assert not report.success
    [f] = report.failures
    assert f.check == "label_length_equals_frame_count"
    assert [r["file"] for r in f.rows] == [str(bad)]
    assert "n_frames=24, n_labels=20" in f.rows[0]["detail"]
    with pytest.raises(ValidationFailed, match="002.npy"):
        apply_policy(m, report, "fail")
    kept = apply_policy(m, report, "exclude")  # never truncated: the video is dropped and listed
    assert len(kept) == len(m) - 1
    assert report.excluded == [{"scene": "R01", "split": "testing", "video": "02",
                                "reason": "label_length_equals_frame_count"}]
    out = write_report(report, tmp_path / "rep")
    saved = json.loads(out.read_text())
    assert saved["success"] is False and saved["great_expectations"]["videos"]["success"] is False
    assert "002.npy" in (tmp_path / "rep/summary.md").read_text()


def test_each_check_fires_on_its_defect(tmp_path):
    root = make_ipad_tree(tmp_path / "ipad", scenes=("S01", "S02"), n_frames=24)
    (root / "S01/training/frames/01/5.jpg").write_bytes(b"\xff\xd8garbage")  # truncated JPEG
    (root / "S01/training/frames/02/7.jpg").unlink()  # gap
    np.save(root / "S02/test_label/001.npy", np.zeros(24, np.uint8))  # S02 test set all normal
    np.save(root / "S02/test_label/002.npy", np.full(24, 2))  # not 0/1
    m = build_manifest(root)
    report = validate_manifest(m)
    by_check = {f.check: f for f in report.failures}
    assert set(by_check) == {"frames_readable", "no_numbering_gaps", "labels_loadable_and_binary",
                             "test_scene_has_anomalous_frames"}
    assert by_check["frames_readable"].rows[0]["file"].startswith(str(root / "S01/training/frames/01/5.jpg"))
    assert "gap_example=7" in by_check["no_numbering_gaps"].rows[0]["detail"]
    assert by_check["labels_loadable_and_binary"].rows[0]["file"].endswith("S02/test_label/002.npy")
    assert by_check["test_scene_has_anomalous_frames"].rows[0]["scene"] == "S02"
    kept = apply_policy(m, report, "exclude")
    assert set(kept.scene) == {"S01"} and len(kept) == 2  # S02 whole scene out, two S01 videos out
