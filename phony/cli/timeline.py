"""A call's events as a readable timeline: time, seq, type, who, text, one event a row.

``phony replay`` (events from the log) and ``phony calls tail`` (events from the SDK's stream) both
print through :func:`row`, from the event's wire form: its ``type`` and its ``data`` as JSON has it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from phony.cli.output import clock

Data = Mapping[str, Any]
# Who acted, and what to say about it, for each event type that has more to say than its type.
Describe = Callable[[Data], tuple[str, str]]

WHO_STYLE = {"caller": "cyan", "ai": "green", "supervisor": "magenta", "phony": "dim"}
TEXT_MAX = 400  # a row for a fact, not a dump: longer texts (prompts) are cut


def _started(d: Data) -> tuple[str, str]:
    agent = d.get("agent") or {}
    name = f" (agent {agent['name']})" if isinstance(agent, dict) and agent.get("name") else ""
    return "phony", f"{d.get('direction', '')} {d.get('from', '?')} -> {d.get('to', '?')}{name}".strip()


def _ai_response(d: Data) -> tuple[str, str]:
    return "ai", str(d.get("text", "")) + (" [interrupted]" if d.get("interrupted") else "")


def _command(d: Data) -> tuple[str, str]:
    who = "supervisor" if d.get("source") == "supervisor" else "ai"
    text = " ".join(str(p) for p in (d.get("command"), d.get("argument")) if p)
    if d.get("accepted") is False:
        text += f" (refused: {d.get('reason') or 'no reason given'})"
    return who, text


def _ended(d: Data) -> tuple[str, str]:
    duration = d.get("duration")
    after = f" after {duration:.1f} s" if isinstance(duration, int | float) else ""
    return "phony", f"{d.get('reason', '')}{after}".strip()


DESCRIBE: dict[str, Describe] = {
    "call.started": _started,
    "media.started": lambda d: ("phony", f"stream {d.get('stream_sid', '')}"),
    "speech.detected": lambda d: (str(d.get("speaker", "")), str(d.get("text", ""))),
    "ai.response": _ai_response,
    "response.interrupted": lambda d: ("caller", f"barged in after {d.get('played_ms', '?')} ms"),
    "response.pending_approval": lambda d: ("ai", f"held for approval: {d.get('text', '')}"),
    "response.approved": lambda d: ("supervisor", f"approved: {d.get('text', '')}"),
    "command.executed": _command,
    "call.transferred": lambda d: (str(d.get("by", "")), f"to {d.get('target', '')}"),
    "dtmf.sent": lambda d: (str(d.get("by", "")), f"pressed {d.get('digits', '')}"),
    "dtmf.received": lambda d: ("caller", f"pressed {d.get('digit', '')}"),
    "supervisor.text_sent": lambda d: ("supervisor", str(d.get("text", ""))),
    "clarification.requested": lambda d: ("ai", f"asks: {d.get('question', '')}"),
    "clarification.answered": lambda d: ("supervisor", f"answers: {d.get('response', '')}"),
    "latency.measured": lambda d: ("phony", f"{d.get('metric', '')} {d.get('ms', 0):.0f} ms"),
    "error.occurred": lambda d: ("phony", f"{d.get('error_type', '')}: {d.get('message', '')}"),
    "call.ended": _ended,
}


def summary(data: Data) -> str:
    """The payload of an event with no description of its own (agents', tenants'): the fields that
    have a value, those of a nested object too (``settings``, ``limits``)."""
    parts: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            parts.append(summary(value))
        elif isinstance(value, list) and value:
            parts.append(f"{key}={','.join(str(v) for v in value)}")
        elif value not in (None, "", [], {}):
            parts.append(f"{key}={value}")
    return ", ".join(p for p in parts if p)


def describe(type_: str, data: Data) -> tuple[str, str]:
    """Who acted in an event and a line of what happened."""
    if type_ in DESCRIBE:
        try:
            return DESCRIBE[type_](data)
        except (TypeError, ValueError):  # a payload of a newer version: show it as it is
            pass
    return "", summary(data)


def row(timestamp: datetime, seq: int, type_: str, data: Data) -> Table:
    """One event as a row of fixed-width columns: rows printed one by one line up."""
    who, text = describe(type_, data)
    if len(text) > TEXT_MAX:
        text = text[: TEXT_MAX - 3] + "..."
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=12, no_wrap=True, style="dim")
    grid.add_column(width=4, justify="right", no_wrap=True)
    grid.add_column(width=25, no_wrap=True, style="bold")
    grid.add_column(width=10, no_wrap=True, style=WHO_STYLE.get(who, ""))
    grid.add_column(ratio=1, overflow="fold")
    grid.add_row(clock(timestamp), str(seq), type_, who, escape(text))
    return grid


def header(console: Console, title: str) -> None:
    """The column names above a timeline."""
    console.print(f"[bold]{escape(title)}[/]")
    grid = Table.grid(padding=(0, 1))
    for width in (12, 4, 25, 10):
        grid.add_column(width=width, no_wrap=True, style="dim")
    grid.add_column(style="dim")
    grid.add_row("time", "seq", "type", "who", "text")
    console.print(grid)
