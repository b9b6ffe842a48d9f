import numpy as np
import pytest

from ipad_vad.data.layout import scan_ipad
from ipad_vad.errors import DataError
from ipad_vad.jobs.ingest import ingest_landing

from .helpers import make_ipad_tree, write_video


def test_ingest_imports_each_device_once_and_quarantines_bad_files(tmp_path):
    data = make_ipad_tree(tmp_path / "data", scenes=("R01", "R02"), n_frames=20)
    landing = tmp_path / "landing"
    write_video(landing / "R01" / "training" / "shift2.mkv", 20)
    write_video(landing / "R01" / "testing" / "jam.mkv", 20)
    np.save(landing / "R01" / "testing" / "jam.npy", np.r_[np.zeros(10), np.ones(10)].astype(np.uint8))
    (landing / "R02").mkdir(parents=True)
    (landing / "R02" / "broken.mp4").write_text("not a video")
    res = ingest_landing(landing, data, min_frames=16)
    assert res.devices == ["R01"]
    assert sorted(r["as"] for r in res.imported["R01"]) == ["R01/testing/03", "R01/training/03"]
    assert [q["path"].endswith("broken.mp4") for q in res.quarantined] == [True]
    keys = [e.key for e in scan_ipad(data, ["R01"])]
    assert "R01/training/03" in keys and "R01/testing/03" in keys
    again = ingest_landing(landing, data, min_frames=16)
    assert again.devices == [] and again.unchanged == 2
    np.save(landing / "R01" / "testing" / "jam.npy", np.r_[np.zeros(8), np.ones(12)].astype(np.uint8))
    fixed = ingest_landing(landing, data, min_frames=16)  # corrected labels: new data for R01 (issue 16, 2)
    assert fixed.devices == ["R01"] and [r["as"] for r in fixed.imported["R01"]] == ["R01/testing/03"]
    assert np.load(data / "R01" / "test_label" / "003.npy").sum() == 12
    only = ingest_landing(landing, data, devices=["R02"], min_frames=16)
    assert only.devices == [] and "R01" not in only.imported
    with pytest.raises(DataError, match="landing folder does not exist"):
        ingest_landing(tmp_path / "nowhere", data)
