"""A Rich progress bar for replays, shown only on a terminal (or when asked).

The engine reports finished jobs through a plain callback; nothing here touches its results.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Tick = Callable[[int], None]
Bar = Callable[[str, int], Tick]


def wanted(flag: bool | None) -> bool:
    """``flag`` when given, else whether stderr is a terminal."""
    return sys.stderr.isatty() if flag is None else flag


@contextmanager
def progress_bars(enabled: bool) -> Iterator[Bar | None]:
    """Yields ``bar(label, total) -> tick(done)``, or None when disabled."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bars:

        def bar(label: str, total: int) -> Tick:
            task = bars.add_task(label, total=total)
            return lambda done: bars.update(task, completed=done)

        yield bar
