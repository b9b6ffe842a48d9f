"""A camera's frames, read in a thread of their own into a bounded queue: a filling frame folder, a
growing video file, a URL, or an iterator (Python API). What goes into the queue:

- ``("frame", frame, native)``: the next frame, model-sized RGB uint8, and its size as it arrived;
  ``frame`` is None for a frame slot that could not be read (the server ends the stream there, so
  that frame numbers stay those of the source);
- ``("fault", kind, detail)``: something an operator must know (``corrupt_frame``, ``missing_frame``,
  ``source_error``, ``disconnected``, ``reconnected``);
- ``("end", reason)``: the source is over (an iterator ran out, or the reader gave up).

Frames of a folder are decoded exactly as ``inference/frame_sources.py`` decodes them for `ipad score`
(the same JPEG scale-down and resize), and a video file is read by its follow reader, so a camera
scores exactly as `ipad score` scores the same footage. Bad frames are re-read with a doubling backoff
(``serve.backoff_s`` up to ``serve.backoff_max_s``, ``serve.frame_retries`` times) before they are
reported and skipped; a source that fails is reopened with the same backoff.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from ..data.frames import decode_frame, jpeg_reduce, resize_frame, structural_problem
from ..data.video_reader import VIDEO_SUFFIXES
from ..errors import DataError
from ..inference.frame_sources import _frame_files, open_footage
from .config import URL
from .settings import ServeSettings


class _Stopped(Exception):
    pass


class Reader(threading.Thread):
    def __init__(
        self, name: str, q: queue.Queue, stop: threading.Event, size: tuple[int, int], settings: ServeSettings
    ):
        super().__init__(name=f"camera-{name}", daemon=True)
        self.cam, self.q, self.stop, self.size, self.s = name, q, stop, tuple(size), settings
        self.frames_read = 0
        self.on_put = None  # called after each item (the server's wake-up)

    def put(self, item) -> None:
        while not self.stop.is_set():
            try:
                self.q.put(item, timeout=self.s.poll_s)
                if item[0] == "frame":
                    self.frames_read += 1
                if self.on_put:
                    self.on_put()
                return
            except queue.Full:
                continue
        raise _Stopped

    def fault(self, kind: str, detail: str) -> None:
        self.put(("fault", kind, detail))

    def sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise _Stopped

    def backoff(self, attempt: int) -> float:
        return min(self.s.backoff_s * 2**attempt, self.s.backoff_max_s)

    def run(self) -> None:
        try:
            reason = self.read() or "source ended"
        except _Stopped:
            return
        except Exception as e:  # noqa: BLE001 - reported, the other cameras go on
            reason = f"reader failed: {type(e).__name__}: {e}"
            try:
                self.fault("source_error", reason)
            except _Stopped:
                return
        try:
            self.put(("end", reason))
        except _Stopped:
            pass

    def read(self) -> str | None:
        raise NotImplementedError


class FolderReader(Reader):
    """A folder filling with frames 0, 1, 2, ... (any zero padding). The newest frame may still be
    being written: it is waited for; a bad frame with later frames behind it is re-read with backoff,
    then reported and skipped. A missing frame number is treated the same way."""

    def __init__(self, *a, folder: Path):
        super().__init__(*a)
        self.folder = Path(folder)

    def read(self) -> None:
        taken, tries, reduce, native, reduced = 0, 0, None, None, None
        while True:
            by_num = {int(p.stem): p for p in _frame_files(self.folder)}
            last = max(by_num, default=-1)
            wait = self.s.poll_s
            while taken <= last:
                f = by_num.get(taken)
                problem, frame = None, None
                if f is None:
                    problem = ("missing_frame", f"frame {taken} is missing before frame {last} of {self.folder}")
                else:
                    problem = structural_problem(f) if f.suffix.lower() in (".jpg", ".jpeg") else None
                    if problem:
                        problem = ("corrupt_frame", f"{f}: {problem}")
                    else:
                        try:
                            if reduce is None:  # the first frame: as frame_sources' folder readers check and scale it
                                grey = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
                                if grey is not None and (grey.ndim == 2 or grey.shape[2] != 3):
                                    raise DataError(f, "expected a colour (3-channel) frame")
                                first = decode_frame(f)
                                reduce, native = jpeg_reduce(f, self.size), first.shape[:2]
                                reduced = decode_frame(f, reduce).shape[:2]
                            img = decode_frame(f, reduce)
                            size_in = (
                                native if img.shape[:2] == reduced else (img.shape[0] * reduce, img.shape[1] * reduce)
                            )
                            frame = resize_frame(img, self.size)
                        except DataError as e:
                            problem = ("corrupt_frame", str(e))
                if problem:
                    if taken == last:  # the newest file: perhaps still being written
                        break
                    tries += 1
                    if tries <= self.s.frame_retries:
                        wait = self.backoff(tries - 1)
                        break
                    self.fault(*problem)
                    self.put(("frame", None, None))
                else:
                    self.put(("frame", frame, tuple(size_in)))
                taken, tries = taken + 1, 0
            self.sleep(wait)


class VideoReader(Reader):
    """A video file, possibly still growing (`ipad score --follow`'s reader); reopened with backoff
    when it cannot be read, continuing after the frames already taken."""

    def __init__(self, *a, path: Path):
        super().__init__(*a)
        self.path = Path(path)

    def read(self) -> None:
        taken, attempt = 0, 0
        while True:
            try:
                footage = open_footage(
                    self.path, self.size, None, follow=True, poll_s=self.s.poll_s, idle_timeout=None, sleep=self.sleep
                )
                if attempt:
                    self.fault("reconnected", f"{self.path}: readable again after {attempt} attempt(s)")
                attempt = 0
                for i, f in enumerate(footage.frames):
                    if i >= taken:
                        self.put(("frame", f, footage.native_size))
                        taken += 1
            except DataError as e:
                self.fault("source_error", str(e))
                self.sleep(self.backoff(attempt))
                attempt += 1


class UrlReader(Reader):
    """A stream the video reader (OpenCV's FFmpeg backend) opens: RTSP, HTTP, ...; a dropped
    connection is reported and reopened with backoff."""

    def __init__(self, *a, url: str):
        super().__init__(*a)
        self.url = url

    def read(self) -> None:
        attempt, cap = 0, None
        while True:
            if cap is None:
                cap = cv2.VideoCapture()
                opened = cap.open(
                    self.url, cv2.CAP_ANY, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.s.open_timeout_s * 1000)]
                )
                if not opened:
                    cap = None
                    self.fault("disconnected", f"{self.url}: cannot open (attempt {attempt + 1})")
                    self.sleep(self.backoff(attempt))
                    attempt += 1
                    continue
                if attempt:
                    self.fault("reconnected", f"{self.url}: reconnected after {attempt} attempt(s)")
                attempt = 0
            ok, bgr = cap.read()
            if not ok or bgr is None:
                cap.release()
                cap = None
                self.fault("disconnected", f"{self.url}: the stream stopped")
                self.sleep(self.backoff(attempt))
                attempt += 1
                continue
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            self.put(("frame", resize_frame(rgb, self.size), rgb.shape[:2]))


class IterReader(Reader):
    """Frames from any iterator (Python API): RGB uint8 (H, W, 3) arrays; anything else is a corrupt
    frame, reported and skipped."""

    def __init__(self, *a, frames: Iterable):
        super().__init__(*a)
        self.frames = frames

    def read(self) -> str:
        for i, f in enumerate(self.frames):
            if self.stop.is_set():
                raise _Stopped
            a = np.asarray(f) if f is not None else None
            if a is None or a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
                what = "nothing" if a is None else f"dtype {a.dtype}, shape {a.shape}"
                self.fault("corrupt_frame", f"frame {i}: expected RGB uint8 (H, W, 3), got {what}")
                self.put(("frame", None, None))
                continue
            self.put(("frame", resize_frame(a, self.size), a.shape[:2]))
        return "the frame iterator ended"


def make_reader(name: str, source: str | Iterable, q: queue.Queue, stop: threading.Event, size, settings) -> Reader:
    if not isinstance(source, str):
        return IterReader(name, q, stop, size, settings, frames=source)
    if URL.match(source):
        return UrlReader(name, q, stop, size, settings, url=source)
    p = Path(source)
    if p.suffix.lower() in VIDEO_SUFFIXES:
        return VideoReader(name, q, stop, size, settings, path=p)
    return FolderReader(name, q, stop, size, settings, folder=p)
