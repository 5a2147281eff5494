"""One model response as it streams, and how much of it the caller has heard."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Response:
    """One model response as it streams: its audio, text, tools, and how much the caller heard."""

    id: str
    held: bool  # approval mode: audio waits for the supervisor
    item_id: str | None = None
    text: str = ""
    transcript: str | None = None
    audio: bytearray = field(default_factory=bytearray)
    sent: int = 0  # bytes published towards the caller
    played: int = 0  # bytes the caller has heard (mark echoes)
    start_ms: int = 0  # caller-stream time of the first delta (recording placement)
    first_delta: bool = True
    interrupted: bool = False
    done: bool = False
    tools: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # name, call id, args
    heard_all: asyncio.Event = field(default_factory=asyncio.Event)

    def note_played(self, count: int) -> None:
        """Twilio echoed the mark after ``count`` bytes: the caller has heard that much."""
        self.played = max(self.played, count)
        if self.done and self.played >= self.sent:
            self.heard_all.set()
