"""``client.events``: a call's events, stored or live."""

from __future__ import annotations

from phony_client._http import path
from phony_client.models.calls import CallEvents
from phony_client.models.events import Event
from phony_client.resources._base import AsyncResource, SyncResource
from phony_client.streaming import DEFAULT_MAX_RECONNECTS, AsyncEventStream, EventStream


class Events(SyncResource):
    def stream(
        self, call_sid: str, since: int | None = None, *, max_reconnects: int = DEFAULT_MAX_RECONNECTS
    ) -> EventStream:
        """A call's events as they happen, typed, until its ``call.ended`` (included).

        ``since``: the seq after which to start (default: the call's first event, so a stream opened
        after ``calls.create`` misses nothing). A dropped socket is reopened with ``since=<last seq>``
        (at most ``max_reconnects`` failures in a row) with no gap and no duplicate.
        """
        return EventStream(self._http, call_sid, since, max_reconnects)

    def stream_tenant(self, *, max_reconnects: int = DEFAULT_MAX_RECONNECTS) -> EventStream:
        """Every call of the key's tenant, live from now, until closed. After a dropped socket, the
        events each call it follows missed are fetched from the store; duplicates are dropped."""
        return EventStream(self._http, None, None, max_reconnects)

    def list(self, call_sid: str, *, since: int = 0) -> list[Event]:
        """The call's stored events with a seq greater than ``since``."""
        return self._http.get(CallEvents, path("/calls/{}/events", call_sid), {"since": since}).events


class AsyncEvents(AsyncResource):
    def stream(
        self, call_sid: str, since: int | None = None, *, max_reconnects: int = DEFAULT_MAX_RECONNECTS
    ) -> AsyncEventStream:
        """See :meth:`Events.stream` (``async for event in client.events.stream(sid)``)."""
        return AsyncEventStream(self._http, call_sid, since, max_reconnects)

    def stream_tenant(self, *, max_reconnects: int = DEFAULT_MAX_RECONNECTS) -> AsyncEventStream:
        return AsyncEventStream(self._http, None, None, max_reconnects)

    async def list(self, call_sid: str, *, since: int = 0) -> list[Event]:
        return (await self._http.get(CallEvents, path("/calls/{}/events", call_sid), {"since": since})).events
