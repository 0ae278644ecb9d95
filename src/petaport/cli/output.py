"""How the CLI shows things: Rich tables for people, ``-o json`` for scripts, local times.

Times are shown in ``PETAPORT_TIMEZONE`` (default Asia/Hong_Kong). User-supplied strings are
always wrapped in ``Text`` so that brackets in a job name are never read as Rich markup.
"""

from __future__ import annotations

import enum
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text

from petaport.cli.parsing import UsageProblem

DEFAULT_TIMEZONE = "Asia/Hong_Kong"
TIMEZONE_ENV = "PETAPORT_TIMEZONE"
M = TypeVar("M", bound=BaseModel)

PIPE_WIDTH = 200  # tables written to a pipe or file are not cut to 80 columns


def _console(stderr: bool = False) -> Console:
    out = Console(stderr=stderr, highlight=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = PIPE_WIDTH
    return out


console = _console()
err_console = _console(stderr=True)


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


OutputOption = Annotated[
    OutputFormat, typer.Option("--output", "-o", help="table (for people) or json (for scripts).")
]


def local_zone() -> ZoneInfo:
    """The zone times are shown in; a bad ``PETAPORT_TIMEZONE`` is a usage error."""
    name = os.environ.get(TIMEZONE_ENV) or DEFAULT_TIMEZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageProblem(f"{TIMEZONE_ENV}={name!r} is not a known time zone") from exc


def fmt_time(value: datetime | None, zone: ZoneInfo | None = None, *, short: bool = False) -> str:
    """A local time; ``short`` (for tables with the zone in the caption) is ``MM-DD HH:MM:SS``."""
    if value is None:
        return "-"
    local = value.astimezone(zone or local_zone())
    return local.strftime("%m-%d %H:%M:%S" if short else "%Y-%m-%d %H:%M:%S %Z")


def fmt_duration(seconds: float | None) -> str:
    """``90`` -> ``1m30s``; ``90061`` -> ``1d01h01m``."""
    if seconds is None:
        return "-"
    s = int(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d{hours:02d}h{minutes:02d}m"
    if hours:
        return f"{hours}h{minutes:02d}m{s:02d}s"
    return f"{minutes}m{s:02d}s" if minutes else f"{s}s"


def fmt_mem(mb: int) -> str:
    """MiB in the unit people type: ``16384`` -> ``16G``, ``1536`` -> ``1536M``."""
    for unit, size in (("T", 1024 * 1024), ("G", 1024)):
        if mb % size == 0:
            return f"{mb // size}{unit}"
    return f"{mb}M"


def cell(value: object) -> Text:
    """A table cell that shows ``value`` literally (never as markup)."""
    if value is None:
        return Text("-")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, list | tuple | set | frozenset):
        return Text(", ".join(str(v) for v in value) or "-")
    return Text(str(value))


def table(
    columns: Sequence[str], rows: Iterable[Sequence[object]], title: str | None = None,
    caption: str | None = None, whole: Sequence[str] = (),
) -> Table:  # fmt: skip
    """A plain table (like ``squeue``): the id and ``whole`` columns never wrap; others fold."""
    out = Table(*columns, title=title, caption=caption, title_justify="left",
                caption_justify="left", header_style="bold", box=None, pad_edge=False)  # fmt: skip
    for index, column in enumerate(out.columns):
        column.overflow = "fold"  # wrap long values; never cut them off with an ellipsis
        column.no_wrap = index == 0 or column.header in whole
    for row in rows:
        out.add_row(*(cell(v) for v in row))
    return out


def details(pairs: Iterable[tuple[str, object]], title: str | None = None) -> Table:
    """A two-column ``field  value`` table."""
    out = Table.grid(padding=(0, 2))
    out.title = title
    out.add_column(style="bold", no_wrap=True)
    out.add_column(overflow="fold")
    for key, value in pairs:
        out.add_row(Text(key), cell(value))
    return out


def emit(
    rows: Sequence[M], output: OutputFormat, cols: Sequence[str],
    row: Callable[[M], Sequence[object]],
) -> None:  # fmt: skip
    """Print ``rows`` as JSON, or as a table with one ``row(item)`` per item."""
    if output == OutputFormat.JSON:
        print_json(list(rows))
    else:
        console.print(table(cols, [row(r) for r in rows]))


def emit_one(item: BaseModel, output: OutputFormat, title: str | None = None) -> None:
    """Print one object as JSON, or as ``Field  value`` lines (times in the local zone)."""
    if output == OutputFormat.JSON:
        print_json(item)
        return
    pairs = []
    for key, value in item.model_dump().items():
        shown = fmt_time(value) if isinstance(value, datetime) else value
        pairs.append((key.replace("_", " ").capitalize(), shown))
    console.print(details(pairs, title=title))


def to_jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """JSON to stdout, plain (no colours), for ``-o json``."""
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False) + "\n")


def is_tty() -> bool:
    return err_console.is_terminal


@contextmanager
def progress(text: str) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr while waiting (only on a terminal); yields a function to update it."""
    if not is_tty():
        yield lambda _text: None
        return
    with err_console.status(text) as status:
        yield status.update
