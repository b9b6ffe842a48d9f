"""Raw footage (mp4/avi/mkv/...) read with decord, streaming in chunks: a long video is never held
in memory whole. Frames come back as RGB uint8 (N, H, W, 3), like the frame-folder reader."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import DataError
from .frames import resize_frame

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v", ".webm")


class VideoFileSource:
    """A video file behind decord. Opened lazily, and re-opened in each DataLoader worker."""

    def __init__(self, path: str | Path, size: tuple[int, int] | None = None):
        self.path = Path(path)
        self.size = size
        self._vr = None
        if not self.path.is_file():
            raise DataError(self.path, "video file does not exist")
        vr = self._reader()
        try:
            self._len = len(vr)
            self._fps = float(vr.get_avg_fps())
            first = vr[0].asnumpy() if self._len else None
        except Exception as e:
            raise DataError(self.path, f"cannot read video: {e}") from e
        if not self._len or first is None:
            raise DataError(self.path, "video has no frames")
        declared = declared_frame_count(self.path, self._fps)
        if declared is not None and self._len < declared - max(2, 0.02 * declared):
            # e.g. a Matroska file cut short: decord decodes the surviving prefix without an error
            raise DataError(
                self.path, f"truncated video: the container declares {declared} frames, only {self._len} are decodable"
            )
        self.height, self.width = first.shape[:2]

    def _reader(self):
        if self._vr is None:
            import decord

            try:
                self._vr = decord.VideoReader(str(self.path), ctx=decord.cpu(0), num_threads=1)
            except Exception as e:  # decord raises DECORDError / RuntimeError for bad files
                raise DataError(self.path, f"not a readable video: {_short(e)}") from e
        return self._vr

    def __getstate__(self):  # picklable for DataLoader workers: re-open there
        state = dict(self.__dict__)
        state["_vr"] = None
        return state

    def __len__(self) -> int:
        return self._len

    @property
    def fps(self) -> float:
        return self._fps

    def read(self, indices) -> np.ndarray:
        indices = list(indices)
        try:
            batch = self._reader().get_batch(indices).asnumpy()
        except Exception as e:
            raise DataError(self.path, f"cannot decode frames {indices[0]}..{indices[-1]}: {_short(e)}") from e
        if self.size is None:
            return batch
        return np.stack([resize_frame(f, self.size) for f in batch])

    def iter_chunks(self, chunk: int = 64) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (first index, frames) for consecutive chunks: decode in order, constant memory."""
        for start in range(0, self._len, chunk):
            yield start, self.read(range(start, min(start + chunk, self._len)))


def declared_frame_count(path: Path, fps: float) -> int | None:
    """Frame count the container header declares (duration x fps), or None when it has none.

    Read with OpenCV's FFmpeg backend, which opens the header only; decord counts the frames it can
    actually index, so a shortfall means the file was cut short."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        n = cap.get(cv2.CAP_PROP_FRAME_COUNT) if cap.isOpened() else 0
    finally:
        cap.release()
    return int(round(n)) if n and n > 0 else None


def _short(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[-1][:300] if text else type(e).__name__
