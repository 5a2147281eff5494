"""What the events hub hands a socket: live events in its own bounded queue, or why it stopped."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from phony.edge.channels import EndReason
from phony.events import EventEnvelope
from phony.projections.stored_events import public_json


@dataclass(frozen=True)
class LiveEvent:
    """A call event ready to send: its place in the call's sequence and its public JSON."""

    call_sid: str
    seq: int
    text: str

    @classmethod
    def of(cls, event: EventEnvelope) -> LiveEvent:
        """The sendable form of a (current-version) envelope."""
        return cls(event.aggregate_id, event.seq, public_json(event))


class SubscriptionEnded(Exception):
    """The hub stopped feeding a subscription (see ``Subscription.reason``)."""


class Subscription:
    """One socket's feed from the hub. The hub never waits on it: when the queue is full the socket is
    too slow, the subscription ends with ``overflow`` and the socket is closed, so one slow client
    cannot hold up the others (or the hub's single Redis reader)."""

    def __init__(self, call_sid: str | None, size: int) -> None:
        self.call_sid = call_sid
        self.reason: EndReason | None = None
        self.ended = asyncio.Event()
        self._queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(size)

    def wants(self, event: LiveEvent) -> bool:
        """Whether ``event`` is of the call this feed is for (every call if none)."""
        return self.call_sid is None or self.call_sid == event.call_sid

    def deliver(self, event: LiveEvent) -> None:
        """Queue ``event`` if it is of this feed's call, without waiting; end the subscription if
        there is no room."""
        if self.reason is not None or not self.wants(event):
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.end("overflow")

    def end(self, reason: EndReason) -> None:
        """Stop the feed; a reader blocked on an empty queue is woken."""
        if self.reason is not None:
            return
        self.reason = reason
        self.ended.set()
        # A full queue means the reader is not waiting on it: it sees ``reason`` at its next get.
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    async def get(self) -> LiveEvent:
        """The next live event; ``SubscriptionEnded`` once the feed stopped (queued events are dropped:
        the client resumes from the store with ``since=``)."""
        event = await self._queue.get()
        if self.reason is not None or event is None:
            raise SubscriptionEnded(self.reason)
        return event
