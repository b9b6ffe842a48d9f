"""Stopping `ipad score --follow` on a signal (issue 29). With ``--idle-timeout 0`` a followed camera
never ends by itself: SIGINT (Ctrl-C) or SIGTERM (``kill``, a service manager) is how it ends. The
first such signal is a request, not an abort: no more frames are read, the clips already taken are
scored, and the scores, alerts and plot are written for everything read (``score_footage``); the
command then exits 0, as at an idle timeout. A second signal aborts at once (the handler it replaced
is back: KeyboardInterrupt for SIGINT, termination for SIGTERM)."""

from __future__ import annotations

import os
import signal

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopOnSignals:
    """``with StopOnSignals() as stop:`` ... ``stop()`` is None until a signal came, then its name
    (``"SIGINT"``). Install from the main thread (Python delivers signals there)."""

    def __init__(self, notice: str = "") -> None:
        self.reason: str | None = None
        self.notice = notice  # written to stderr when the first signal comes
        self._previous: dict[int, object] = {}

    def __call__(self) -> str | None:
        return self.reason

    def __enter__(self) -> StopOnSignals:
        for s in SIGNALS:
            self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s in list(self._previous):
            signal.signal(s, self._restore(s))
        self._previous.clear()

    def _restore(self, signum: int):
        previous = self._previous.get(signum)
        return signal.SIG_DFL if previous is None else previous  # None: a handler not set from Python

    def _handle(self, signum: int, frame) -> None:
        if self.reason is None:
            self.reason = signal.Signals(signum).name
        signal.signal(signum, self._restore(signum))  # the next one aborts
        if self.notice:
            os.write(2, f"{self.reason}: {self.notice}\n".encode())  # no buffered I/O in a handler
