"""Footage to score, as a stream of RGB uint8 frames: a video file, a folder of frames, or (follow
mode) a video file that is still being written or a folder that is still filling.

Frames of a folder are decoded exactly as the pipeline's decoded cache decodes them (the same JPEG
scale-down and resize), so a folder scores exactly like evaluation. Video files are decoded by decord
at full size and resized the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..data.frames import (
    FRAME_SUFFIXES,
    decode_frame,
    jpeg_reduce,
    list_frame_files,
    missing_indices,
    resize_frame,
    structural_problem,
)
from ..data.video_reader import VIDEO_SUFFIXES, VideoFileSource
from ..errors import DataError


@dataclass
class Footage:
    path: Path
    name: str
    fps: float | None
    native_size: tuple[int, int] | None  # (H, W) of the first frame; None until one exists (follow)
    frames: Iterator[np.ndarray]  # model-sized RGB uint8 frames, in order


def open_footage(
    path: str | Path,
    size: tuple[int, int],
    expected_size: tuple[int, int] | None = None,
    follow: bool = False,
    poll_s: float = 0.5,
    idle_timeout: float | None = None,
    chunk: int = 64,
    sleep: Callable[[float], None] = time.sleep,
    stop: Callable[[], str | None] | None = None,
) -> Footage:
    """Open `path` for scoring at the model's frame `size`. `expected_size` (the device's footage)
    is checked against the first frame unless None. In follow mode, frames are read as they appear
    and the stream ends after `idle_timeout` seconds without a new frame (never when None), or as soon
    as `stop()` returns a reason (``inference/stop.py``: SIGINT, SIGTERM): the frames read until then
    are the whole stream."""
    path = Path(path)
    stop = stop or _never
    if path.is_dir() or (follow and not path.suffix):
        feed = _folder_follow(path, size, poll_s, idle_timeout, sleep, stop) if follow else _folder(path, size, chunk)
        fps = None
    elif path.suffix.lower() in VIDEO_SUFFIXES:
        if follow:
            feed, fps = _video_follow(path, size, poll_s, idle_timeout, chunk, sleep, stop), None
        else:
            src = VideoFileSource(path)
            _check_channels(path)
            native = (src.height, src.width)
            feed, fps = ((resize_frame(f, size), native) for _, part in src.iter_chunks(chunk) for f in part), src.fps
    elif path.exists():
        raise DataError(path, f"not a video file ({', '.join(VIDEO_SUFFIXES)}) or a folder of frames")
    else:
        raise DataError(path, "no such file or folder")
    return _checked(path, fps, feed, expected_size, stop)


def _never() -> None:
    return None


def _checked(path: Path, fps, feed: Iterator[tuple[np.ndarray, tuple[int, int]]], expected, stop) -> Footage:
    """Peek at the first frame for its native size (and check it) without losing it."""
    first = next(feed, None)
    if first is None:
        raise DataError(
            path, f"no frames: stopped ({stop()}) before the first frame arrived" if stop() else "no frames"
        )
    frame, native = first
    if expected and tuple(native) != tuple(expected):
        raise DataError(
            path,
            f"frames are {native[0]}x{native[1]} (HxW) but this device's model was trained on "
            f"{expected[0]}x{expected[1]} footage: another camera or framing needs its own model "
            "(--any-size scores it anyway)",
        )

    def frames():
        yield frame
        for f, _ in feed:
            yield f

    return Footage(path, path.stem if path.is_file() else path.name, fps, tuple(native), frames())


def _folder(folder: Path, size, chunk: int):
    files = list_frame_files(folder)
    gaps = missing_indices(files)  # rows of the scores are frame numbers: a gap would shift every later one
    if gaps:
        f = files[gaps[0]]  # the first file after the first missing number
        raise DataError(
            f, f"frame {gaps[0]} is missing before {f.name} (frames are numbered 0, 1, 2, ... without gaps)"
        )
    _check_channels(files[0])
    reduce = jpeg_reduce(files[0], size)
    native = decode_frame(files[0]).shape[:2]
    for f in files:
        yield resize_frame(decode_frame(f, reduce), size), native


def _check_channels(path: Path) -> None:
    """Footage must be colour, as the device's footage was. Grey is what the file stores, for a frame
    folder's first frame and a video file alike (issue 29): a JPEG/PNG with 1 channel (or 2 or 4: grey
    + alpha, RGBA), a video stream in a grey pixel format (gray, Y800, 16-bit grey, ...). Not the
    decoded pixels: decord returns 3 identical channels for a grey video, and a colour camera's first
    frame may be all black (R = G = B) - a colour file of a grey scene is scored, as a 3-channel JPEG
    of one is."""
    channels, detail = _video_channels(path) if path.suffix.lower() in VIDEO_SUFFIXES else _image_channels(path)
    if channels is not None and channels != 3:
        raise DataError(path, f"expected a colour (3-channel) frame, got {channels} channel(s){detail}")


def _image_channels(path: Path) -> tuple[int, str]:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DataError(path, "cannot decode frame (corrupt or not an image)")
    return (1 if img.ndim == 2 else img.shape[2]), ""


# FFmpeg's codec tags of grey pixel formats (libavcodec/raw.c): 8-bit grey, grey of 9-16 bits
# ("Y1" 0 <bits>, little or big endian), grey + alpha ("Y2" 0 <bits>), 1-bit monochrome
_GREY_TAGS = (b"Y800", b"Y8  ", b"GREY", b"B1W0", b"B0W1")
_GREY_PREFIXES = (b"Y1\x00", b"Y2\x00")


def _video_channels(path: Path) -> tuple[int | None, str]:
    """1 for a video stored in a grey pixel format, 3 for any other, None when the format cannot be
    read (then the footage is not refused for it)."""
    prop = getattr(cv2, "CAP_PROP_CODEC_PIXEL_FORMAT", None)
    if prop is None:
        return None, ""
    cap = cv2.VideoCapture(str(path))
    try:
        code = int(cap.get(prop)) if cap.isOpened() else -1
    finally:
        cap.release()
    if code <= 0:
        return None, ""
    tag = code.to_bytes(4, "little")
    if tag in _GREY_TAGS or tag[:3] in _GREY_PREFIXES or tag[::-1][:3] in _GREY_PREFIXES:
        return 1, f" (a grey video: pixel format {tag.rstrip(bytes(1)).decode('latin-1')!r})"
    return 3, ""


def _folder_follow(folder: Path, size, poll_s: float, idle_timeout: float | None, sleep, stop):
    """Frames of a folder that is filling. A JPEG is taken once it is complete (its end marker is
    written); a frame that stays incomplete while later frames arrive is an error naming it."""
    taken, reduce, native, idle, stuck = 0, None, None, 0.0, 0
    while not stop():
        files = _frame_files(folder)
        progressed = False
        while taken < len(files) and not stop():
            f = files[taken]
            if int(f.stem) != taken:
                raise DataError(f, f"frame {taken} is missing before {f.name}")
            problem = structural_problem(f) if f.suffix.lower() in (".jpg", ".jpeg") else None
            if problem:
                stuck = stuck + 1 if taken + 1 < len(files) else 0
                if stuck > 2:
                    raise DataError(f, f"{problem}, and later frames keep arriving")
                break
            if reduce is None:
                _check_channels(f)
                reduce, native = jpeg_reduce(f, size), decode_frame(f).shape[:2]
            yield resize_frame(decode_frame(f, reduce), size), native
            taken, progressed, stuck = taken + 1, True, 0
        idle = 0.0 if progressed else idle + poll_s
        if idle_timeout is not None and idle >= idle_timeout:
            return
        sleep(poll_s)


def _frame_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES and p.stem.isdigit()),
        key=lambda p: int(p.stem),
    )


def _video_follow(path: Path, size, poll_s: float, idle_timeout: float | None, chunk: int, sleep, stop):
    """Frames of a video file that is still being written (a container readable while it grows:
    Matroska, fragmented MP4, AVI). The file is re-opened on every poll and read past what was read."""
    taken, idle, last_error = 0, 0.0, None
    while not stop():
        progressed = False
        try:
            src = VideoFileSource(path) if path.is_file() else None
        except DataError as e:  # not (yet) readable: a header still being written
            src, last_error = None, e
        if src is not None and len(src) > taken:
            if taken == 0:
                _check_channels(path)
            native = (src.height, src.width)
            for s in range(taken, len(src), chunk):
                for f in src.read(range(s, min(s + chunk, len(src)))):
                    if stop():
                        return
                    yield resize_frame(f, size), native
                    taken += 1
            progressed, last_error = True, None
        idle = 0.0 if progressed else idle + poll_s
        if idle_timeout is not None and idle >= idle_timeout:
            if taken == 0 and last_error is not None:
                raise last_error
            return
        sleep(poll_s)
