import numpy as np
import pytest

from ipad_vad.data.video_reader import VideoFileSource
from ipad_vad.errors import DataError

from .helpers import write_video


def test_decord_reads_lossless_video_exactly(tmp_path):
    ref = write_video(tmp_path / "clip.mkv", 37, "FFV1")
    src = VideoFileSource(tmp_path / "clip.mkv")
    assert len(src) == 37 and src.fps == pytest.approx(25.0)
    assert np.array_equal(src.read(range(37)), np.stack(ref))


def test_decord_reads_mp4_frames_written(tmp_path):
    ref = np.stack(write_video(tmp_path / "clip.mp4", 30, "mp4v"))
    src = VideoFileSource(tmp_path / "clip.mp4")
    assert len(src) == 30
    got = src.read(range(30))
    assert got.shape == ref.shape
    assert np.abs(got.astype(int) - ref).mean() < 8  # lossy codec: close, not equal
    # each decoded frame is closest to the frame written at the same position
    err = np.abs(got[:, None].astype(int) - ref[None]).mean(axis=(2, 3, 4))
    assert (err.argmin(axis=1) == np.arange(30)).all()


def test_streaming_chunks_equal_one_read_and_resize(tmp_path):
    write_video(tmp_path / "clip.mkv", 50, "FFV1")
    src = VideoFileSource(tmp_path / "clip.mkv")
    chunks = list(src.iter_chunks(chunk=16))
    assert [s for s, _ in chunks] == [0, 16, 32, 48]
    assert np.array_equal(np.concatenate([c for _, c in chunks]), src.read(range(50)))
    small = VideoFileSource(tmp_path / "clip.mkv", size=(12, 16))
    assert small.read([0, 1]).shape == (2, 12, 16, 3)


@pytest.mark.parametrize("kind", ["truncated", "truncated_mkv", "text", "missing"])
def test_bad_video_files_name_the_file(tmp_path, kind):
    p = tmp_path / f"{kind}.mp4"
    if kind == "truncated":
        write_video(tmp_path / "ok.mp4", 30, "mp4v")
        data = (tmp_path / "ok.mp4").read_bytes()
        p.write_bytes(data[: len(data) // 2])
    elif kind == "truncated_mkv":  # decodes its surviving prefix without a decoder error
        p = tmp_path / "cut.mkv"
        write_video(tmp_path / "ok.mkv", 30, "FFV1")
        data = (tmp_path / "ok.mkv").read_bytes()
        p.write_bytes(data[: len(data) // 3])
    elif kind == "text":
        p.write_text("this is not a video")
    with pytest.raises(DataError) as e:
        VideoFileSource(p)
    assert str(p) in str(e.value)


def test_jpeg_frames_smaller_than_the_model_are_read_whole_not_a_crash(tmp_path):
    """A folder of 24x32 JPEGs scored by a 32x32 model: no JPEG scale-down fits, so they are read at
    scale 1 (and resized up), where max() over no candidate used to raise ValueError."""
    import cv2

    from ipad_vad.data.frames import JpegFolderSource, jpeg_reduce

    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i:03d}.jpg"), np.full((24, 32, 3), 40 * i, np.uint8))
    assert jpeg_reduce(tmp_path / "000.jpg", (32, 32)) == 1
    assert jpeg_reduce(tmp_path / "000.jpg", (12, 16)) == 2
    src = JpegFolderSource(tmp_path, size=(32, 32))
    assert src.reduce == 1 and len(src) == 3
