"""Fault injection for the crash-consistency tests (issue 16, 1), the way SQLite tests crash safety.

Code that writes calls ``reach("<point>")`` after each step that changes the disk. With the
environment variable ``IPAD_FAULT=<point>[:<n>]`` set, the process dies on the spot — ``os._exit(137)``,
no cleanup, no ``finally``, as under ``kill -9`` — the n-th time (default: the first) it reaches
that point; with ``IPAD_FAULT_GROUP=1`` it kills its whole process group instead (``ipad ingest``
with the ``dvc`` and stage processes under it, as a machine that goes down). Unset (always, outside
the tests), ``reach`` does nothing.
"""

from __future__ import annotations

import os
from collections import Counter

ENV = "IPAD_FAULT"
_reached: Counter = Counter()


def reach(point: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != point:
        return
    _reached[point] += 1
    if _reached[point] == int(nth or 1):
        if os.environ.get("IPAD_FAULT_GROUP") == "1":
            import signal

            os.killpg(os.getpgid(0), signal.SIGKILL)
        os._exit(137)
