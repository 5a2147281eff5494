"""What the parts of a session (input buffer, items, responses) need from the session itself."""

from __future__ import annotations

from typing import Protocol

from phony.sim.realtime.conversation import Conversation
from phony.sim.realtime.events import JsonObject, ServerEvents
from phony.sim.realtime.options import SimOptions


class SessionHost(Protocol):
    """A live session: its ids, conversation, options, and the way out to the client."""

    id: str
    events: ServerEvents
    conversation: Conversation
    options: SimOptions

    async def send(self, event: JsonObject) -> None:
        """Send one server event to the client."""
