"""Progress bars for long work (rich). Library functions take an optional `progress(iterable,
total, description)` wrapper; the CLI passes :func:`rich_progress`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def rich_progress(iterable: Iterable[T], total: int, description: str) -> Iterable[T]:
    from rich.markup import escape
    from rich.progress import track

    # the bar's description is rich markup: escape it, so a path in it keeps its brackets
    return track(iterable, total=total, description=escape(description), transient=False)
