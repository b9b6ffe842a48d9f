"""One import into a data folder at a time (issue 16, 7).

Two imports into the same folder would pick the same next video number and the second would die on
the rename. ``import_lock`` takes an OS file lock (``filelock``) beside the data folder — not inside
it, the folder is a DVC-versioned dataset — for the whole import, and records who holds it (process,
host, since when, what) in a side file, so that a second import stops at once with an error naming
the holder instead of a raw ``FileExistsError``. The OS releases the lock with its process: an import
killed with ``kill -9`` leaves no stale lock behind (tested).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import DataError
from ..io_utils import write_json


def lock_paths(out: str | Path) -> tuple[Path, Path]:
    """(the lock file, the holder file) of data folder `out`: beside it, hidden."""
    out = Path(out)
    return out.parent / f".{out.name}.import.lock", out.parent / f".{out.name}.import.holder.json"


def _holder(path: Path) -> str:
    try:
        h = json.loads(path.read_text())
        return f"{h['what']!s} - process {h['pid']} on {h['host']} since {h['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not said who it is yet"


@contextmanager
def import_lock(out: str | Path, what: str) -> Iterator[None]:
    """Hold the import lock of data folder `out` while the block runs; DataError if another holds it."""
    out = Path(out)
    lock_file, holder_file = lock_paths(out)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_file)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise DataError(
            out,
            f"another import is writing into this folder ({_holder(holder_file)}); "
            "wait for it to finish and run this one again (the lock goes with its process: "
            f"{lock_file})",
        ) from None
    try:
        write_json(
            holder_file,
            {
                "what": what,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            },
        )
        yield
    finally:
        holder_file.unlink(missing_ok=True)
        lock.release()
