"""Frame folders of the IPAD layout: `<int>.jpg`, numbered from 0, zero-padded or not.

Reading is RGB uint8 (H, W, 3). Corruption is found in two ways: a cheap structural check of every
file (JPEG start/end markers, the way a truncated copy shows) and a full decode where a frame is
actually used — at import every frame is decoded once (``decode_frame_bytes``); both raise
:class:`DataError` naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import DataError

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")
_JPEG_SOI = b"\xff\xd8"
_JPEG_EOI = b"\xff\xd9"


def list_frame_files(folder: str | Path) -> list[Path]:
    """Frame files of `folder` sorted by their integer name. Hidden and non-image files are ignored.

    Raises DataError for a missing/empty folder, a non-integer frame name or two files with the same
    number (``7.jpg`` and ``007.jpg``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, "frame folder does not exist")
    by_index: dict[int, Path] = {}
    for p in folder.iterdir():
        if p.name.startswith(".") or p.suffix.lower() not in FRAME_SUFFIXES:
            continue
        try:
            idx = int(p.stem)
        except ValueError:
            raise DataError(p, "frame file name is not an integer (expected <int>.jpg)") from None
        if idx in by_index:
            raise DataError(p, f"frame number {idx} appears twice (also {by_index[idx].name})")
        by_index[idx] = p
    if not by_index:
        raise DataError(folder, "no frames in folder (expected <int>.jpg files)")
    return [by_index[i] for i in sorted(by_index)]


def missing_indices(files: list[Path]) -> list[int]:
    """Frame numbers missing between 0 and the largest number present."""
    present = {int(p.stem) for p in files}
    return [i for i in range(max(present) + 1) if i not in present]


def structural_problem(path: str | Path) -> str | None:
    """Cheap check of one frame file without decoding it; returns the problem or None."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size == 0:
            return "empty file"
        if path.suffix.lower() == ".png":
            return None if size > 8 else "truncated PNG"
        with open(path, "rb") as f:
            head = f.read(2)
            f.seek(max(0, size - 64))
            tail = f.read().rstrip(b"\x00")
    except OSError as e:
        return f"cannot read: {e}"
    if head != _JPEG_SOI:
        return "not a JPEG (missing start-of-image marker)"
    if not tail.endswith(_JPEG_EOI):
        return "truncated JPEG (missing end-of-image marker)"
    return None


_REDUCED = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}


def decode_frame(path: str | Path, reduce: int = 1) -> np.ndarray:
    """Decode one frame file to RGB uint8 (H, W, 3). `reduce` (1, 2, 4, 8) decodes a JPEG directly at
    that fraction of its size (DCT-domain scaling in libjpeg: much faster than decode + resize)."""
    path = Path(path)
    try:
        buf = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise DataError(path, f"cannot read frame: {e}") from e
    return decode_frame_bytes(buf, path, reduce)


def decode_frame_bytes(data: bytes | np.ndarray, path: str | Path, reduce: int = 1) -> np.ndarray:
    """Decode the bytes of frame file `path` (already read) to RGB uint8 (H, W, 3), exactly as
    :func:`decode_frame` would; DataError naming `path` if they are not a decodable image. The importer
    decodes every frame this way from the bytes it copies, so a frame whose JPEG markers are intact
    but whose data is not is quarantined at import, not found later in prepare (issue 29, 4)."""
    buf = np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray, memoryview)) else data
    img = cv2.imdecode(buf, _REDUCED[reduce]) if buf.size else None
    if img is None:
        raise DataError(path, "cannot decode frame (corrupt or not an image)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def resize_frame(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Resize an RGB frame to `size` = (height, width); area interpolation when shrinking."""
    if size is None or tuple(frame.shape[:2]) == tuple(size):
        return frame
    h, w = size
    interp = cv2.INTER_AREA if h < frame.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(frame, (w, h), interpolation=interp)


def jpeg_reduce(first: Path, size: tuple[int, int] | None) -> int:
    """The largest JPEG scale-down (1, 2, 4, 8) that still leaves at least `size`, judged on the first
    frame of a folder; 1 for other formats or no target size."""
    if size is None or first.suffix.lower() not in (".jpg", ".jpeg"):
        return 1
    h, w = decode_frame(first).shape[:2]
    # a frame already smaller than the target is read whole (scale 1) and resized up, never reduced
    return max((f for f in (1, 2, 4, 8) if h // f >= size[0] and w // f >= size[1]), default=1)


@dataclass
class JpegFolderSource:
    """A video stored as a folder of frames; ``read(indices)`` returns (N, H, W, 3) RGB uint8."""

    folder: Path
    size: tuple[int, int] | None = None

    def __post_init__(self):
        self.folder = Path(self.folder)
        self.files = list_frame_files(self.folder)
        self.reduce = jpeg_reduce(self.files[0], self.size)

    def __len__(self) -> int:
        return len(self.files)

    @property
    def fps(self) -> float | None:
        return None

    def read(self, indices) -> np.ndarray:
        return np.stack([resize_frame(decode_frame(self.files[i], self.reduce), self.size) for i in indices])
