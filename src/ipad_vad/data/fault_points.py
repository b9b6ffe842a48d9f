"""Fault injection for the crash-consistency tests (issue 16, 1), the way SQLite tests crash safety.

Code that writes calls ``reach("<point>")`` after each step that changes the disk. With the
environment variable ``IPAD_FAULT=<point>[:<n>]`` set, the process dies on the spot — ``os._exit(137)``,
no cleanup, no ``finally``, as under ``kill -9`` — the n-th time (default: the first) it reaches
that point; with ``IPAD_FAULT_GROUP=1`` it kills its whole process group instead (``ipad ingest``
with the ``dvc`` and stage processes under it, as a machine that goes down). With
``IPAD_FAULT=<point>:<n>:enospc`` it raises ``OSError(ENOSPC)`` there instead, without a file name,
as a ``write()`` on a full disk does (issue 29, 5). Unset (always, outside the tests), ``reach``
does nothing.
"""

from __future__ import annotations

import errno
import os
from collections import Counter

ENV = "IPAD_FAULT"
ACTIONS = ("kill", "enospc")
_reached: Counter = Counter()


def reset() -> None:
    """Forget how often each point was reached (for tests that inject faults in their own process)."""
    _reached.clear()


def reach(point: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    name, _, rest = spec.partition(":")
    if name != point:
        return
    nth, _, action = rest.partition(":")
    action = action or "kill"
    if action not in ACTIONS:
        raise ValueError(f"{ENV}={spec}: unknown action {action!r} (use one of {', '.join(ACTIONS)})")
    _reached[spec] += 1
    if _reached[spec] != int(nth or 1):
        return
    if action == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if os.environ.get("IPAD_FAULT_GROUP") == "1":
        import signal

        os.killpg(os.getpgid(0), signal.SIGKILL)
    os._exit(137)
