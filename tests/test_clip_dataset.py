import math

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from ipad_vad.data.clip_dataset import ClipDataset, VideoRecord
from ipad_vad.data.manifest import build_manifest
from ipad_vad.data.sampling import FractionSampler

from .helpers import make_ipad_tree


class ArraySource:
    """An in-memory frame source: frame i is filled with value i."""

    def __init__(self, n, h=4, w=5):
        self.frames = np.stack([np.full((h, w, 3), i % 256, np.uint8) for i in range(n)])

    def __len__(self):
        return len(self.frames)

    def read(self, indices):
        return self.frames[list(indices)]


def test_clip_count_centres_and_edge_labels_match_official_protocol():
    n = 40
    labels = (np.arange(n) % 7 == 0).astype(np.uint8)
    ds = ClipDataset([VideoRecord(ArraySource(n), labels=labels)], clip_len=16, stride=1)
    assert len(ds) == n - 15
    centre_labels = [ds[i]["label"] for i in range(len(ds))]
    assert centre_labels == labels[8 : n - 7].tolist()  # official evaluate.py: labels[8:len-7]
    first, last = ds[0], ds[len(ds) - 1]
    assert first["center"] == 8 and last["center"] == n - 8
    assert first["frame_labels"].tolist() == labels[:16].tolist()
    assert last["frame_labels"].tolist() == labels[n - 16 :].tolist()


def test_clip_tensor_shape_order_and_scaling():
    ds = ClipDataset([VideoRecord(ArraySource(300, 6, 8))], clip_len=16, stride=4)
    item = ds[2]  # frames 8..23
    x = item["clip"]
    assert x.shape == (3, 16, 6, 8) and x.dtype == torch.float32
    assert torch.allclose(x[:, :, 0, 0], (torch.arange(8, 24).float() / 127.5 - 1).expand(3, 16))
    assert item["label"] == -1 and math.isnan(item["phase"])
    ds255 = ClipDataset([VideoRecord(ArraySource(256, 2, 2))], clip_len=1)
    assert ds255[0]["clip"].min() == -1 and ds255[255]["clip"].max() == 1


def test_short_video_gives_no_clip_and_stride_counts():
    ds = ClipDataset([VideoRecord(ArraySource(10)), VideoRecord(ArraySource(33))], clip_len=16, stride=8)
    assert [len(r) for r in ds.video_slices] == [0, 3]  # starts 0, 8, 16


def test_from_manifest_reads_frames_labels_and_phases(tmp_path):
    root = make_ipad_tree(tmp_path / "ipad", n_frames=40)
    m = build_manifest(root)
    ds = ClipDataset.from_manifest(m, "testing", scenes=["S01"], size=(12, 16), clip_len=16, stride=2)
    assert len(ds.videos) == 2 and len(ds) == 2 * 13
    item = ds[1]  # video 01, start 2, centre 10: first anomalous frame
    assert item["clip"].shape == (3, 16, 12, 16)
    assert item["center"] == 10 and item["label"] == 1
    assert item["phase"] == pytest.approx(0.0)  # cycles start every 10 frames
    assert ds[0]["phase"] == pytest.approx(0.8)
    loader = DataLoader(ds, batch_size=4, num_workers=2)
    batch = next(iter(loader))
    assert batch["clip"].shape == (4, 3, 16, 12, 16)


def test_fraction_sampler_contiguous_takes_the_first_fifth_of_each_video():
    ds = ClipDataset([VideoRecord(ArraySource(115)), VideoRecord(ArraySource(66))], clip_len=16)
    s = FractionSampler(ds, 0.2, mode="contiguous", shuffle=False)
    n0, n1 = 100, 51
    assert len(s) == math.ceil(0.2 * n0) + math.ceil(0.2 * n1)
    assert list(s) == list(range(20)) + list(range(n0, n0 + 11))


def test_fraction_sampler_random_is_deterministic_and_reshuffles_per_epoch():
    ds = ClipDataset([VideoRecord(ArraySource(215))], clip_len=16)  # 200 clips
    a = FractionSampler(ds, 0.2, mode="random", seed=1)
    b = FractionSampler(ds, 0.2, mode="random", seed=1)
    c = FractionSampler(ds, 0.2, mode="random", seed=2)
    assert len(a) == 40 and a.indices == b.indices and a.indices != c.indices
    e0 = list(a)
    a.set_epoch(1)
    e1 = list(a)
    assert sorted(e0) == sorted(e1) == a.indices and e0 != e1
    with pytest.raises(ValueError):
        FractionSampler(ds, 0.0)
