"""How the operator commands print: rich tables and key/value panels for people, JSON for scripts,
and confirmations on stderr (so that stdout holds only what a script captures)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table


def stdout() -> Console:
    return Console(highlight=False)


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


def as_json(value: BaseModel | Sequence[BaseModel] | dict[str, Any]) -> Any:
    """``value`` as plain JSON data, with the wire's field names (``from``, not ``from_``)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, dict):
        return {k: as_json(v) if isinstance(v, BaseModel | list) else v for k, v in value.items()}
    return [as_json(v) for v in value]


def print_json(value: BaseModel | Sequence[BaseModel] | dict[str, Any]) -> None:
    """One JSON document on stdout (a list is one array)."""
    typer.echo(json.dumps(as_json(value), indent=2))


def print_json_line(value: BaseModel | dict[str, Any]) -> None:
    """One JSON object on one line (a stream of them is JSON lines)."""
    typer.echo(json.dumps(as_json(value) if isinstance(value, BaseModel) else value))


def when(moment: datetime | None) -> str:
    """A timestamp in local time, to the second; empty for none."""
    return "" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def short_when(moment: datetime | None) -> str:
    """A timestamp for a table cell: the time alone when it is today, else the date and minute."""
    if moment is None:
        return "[dim]-[/]"
    local = moment.astimezone()
    if local.date() == datetime.now().astimezone().date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M")


def clock(moment: datetime) -> str:
    """A time of day to the millisecond, in local time (the timelines' first column)."""
    return moment.astimezone().strftime("%H:%M:%S.%f")[:-3]


def table(columns: Sequence[str], rows: Iterable[Sequence[str]], *, caption: str | None = None) -> None:
    """A table on stdout. The first column, the id, is never wrapped or cut (it is there to be
    copied); on a narrow terminal the other cells wrap."""
    grid = Table(*columns, caption=caption, caption_justify="left", header_style="bold")
    listed = [list(row) for row in rows]
    grid.columns[0].no_wrap = True
    grid.columns[0].min_width = max((len(row[0]) for row in listed), default=len(columns[0]))
    for row in listed:
        grid.add_row(*row)
    stdout().print(grid)


def details(title: str, pairs: Iterable[tuple[str, object]]) -> None:
    """One record as aligned ``field  value`` lines under a bold title."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    for field, value in pairs:
        grid.add_row(field, show(value))
    console = stdout()
    console.print(f"[bold]{title}[/]")
    console.print(grid)


def show(value: object) -> str:
    """A field's value as a table cell (markup escaped): lists joined, None and empty as a dim dash."""
    if value is None or value == [] or value == {}:
        return "[dim]-[/]"
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return escape(", ".join(str(v) for v in value))
    if isinstance(value, dict):
        return escape(", ".join(f"{k}={v}" for k, v in value.items()))
    return escape(str(value))


def done(message: str) -> None:
    """A confirmation for people, on stderr."""
    stderr().print(message, soft_wrap=True)


def counted(n: int, noun: str) -> str:
    """``1 agent``, ``2 agents``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def paged(shown: int, offset: int, total: int, noun: str) -> str:
    """A table's caption: which of how many it shows (``noun`` singular)."""
    if total == 0:
        return f"no {noun}s"
    if shown == total:
        return counted(total, noun)
    more = f" (--offset {offset + shown} for more)" if offset + shown < total else ""
    return f"{offset + 1}-{offset + shown} of {counted(total, noun)}{more}"
