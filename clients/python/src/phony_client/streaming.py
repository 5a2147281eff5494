"""Live call events over the events WebSocket, as typed models, resumed after a dropped socket.

A call's stream (``client.events.stream(call_sid)``) starts at ``since`` (default: the call's first
event), reconnects after a drop with ``since=<last seq received>`` (the server replays what was
missed; anything at or below that seq is dropped, so there is no gap and no duplicate) and ends after
the call's ``call.ended``. A tenant's stream (``client.events.stream_tenant()``) carries every call of
the key's tenant and runs until closed; after a drop it fetches what each call it follows missed
from ``GET /calls/{sid}/events?since=``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from types import TracebackType

import httpx
from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection as SyncConnection
from websockets.sync.client import connect as sync_connect

from phony_client._http import AsyncHttp, SyncHttp, path
from phony_client._options import USER_AGENT, ClientOptions
from phony_client._retry import backoff
from phony_client._stream_core import (
    DEFAULT_MAX_RECONNECTS,
    POLICY_VIOLATION,
    Cursor,
    Reconnects,
    dropped,
    refusal,
    stream_url,
    ws_headers,
)
from phony_client.errors import APIConnectionError, APIStatusError, PhonyError, from_response
from phony_client.models.calls import Call, CallEvents
from phony_client.models.events import Event, parse_event

log = logging.getLogger("phony_client")
__all__ = ["DEFAULT_MAX_RECONNECTS", "AsyncEventStream", "EventStream"]


def _handshake_error(exc: InvalidHandshake, url: str) -> PhonyError:
    """A refused handshake as the error its HTTP answer names, else a connection error."""
    if isinstance(exc, InvalidStatus):
        r = exc.response
        return from_response(
            httpx.Response(r.status_code, headers=list(r.headers.raw_items()), content=r.body)
        )
    return APIConnectionError(f"event stream {url}: handshake failed: {exc}")


def _retryable(error: PhonyError) -> bool:
    if isinstance(error, APIStatusError):
        return error.status == 429 or error.status >= 500
    return True


def _open_timeout(options: ClientOptions) -> float:
    return options.timeout.connect or 10.0


def _close_error(code: int | None, reason: str | None) -> PhonyError:
    if code == POLICY_VIOLATION:
        raise refusal(code, reason or "refused")
    return dropped(code, reason)


class _StreamBase:
    def __init__(self, options: ClientOptions, call_sid: str | None, since: int | None, max_reconnects: int):
        if call_sid is not None:
            path("/calls/{}", call_sid)  # a non-empty id
        if since is not None and since < 0:
            raise ValueError("since must be 0 or more")
        self._options = options
        self._given_since = since
        self._cursor = Cursor.start(call_sid, since)
        self._tries = Reconnects(first=options.max_retries, later=max_reconnects)
        self._closed = False

    @property
    def call_sid(self) -> str | None:
        """The call streamed, or None for the tenant's stream."""
        return self._cursor.call_sid

    @property
    def last_seq(self) -> int | None:
        """The seq of the call's last event received (what a reconnect resumes from)."""
        return self._cursor.since()

    @property
    def reconnects(self) -> int:
        """How many times the socket was opened again after a drop."""
        return self._tries.total

    def _url(self) -> str:
        return stream_url(self._options, self._cursor.call_sid, self._cursor.since())

    def _ended_before(self, call: Call) -> bool:
        # A stream from a seq the ended call does not go past would wait forever for call.ended.
        return (
            call.ended_at is not None and self._given_since is not None and call.last_seq <= self._given_since
        )

    def _fill(self, fetched: CallEvents, before: int | None = None) -> list[Event]:
        return [e for e in fetched.events if (before is None or e.seq < before) and self._cursor.take(e)]


class EventStream(_StreamBase):
    """Iterate it for events (:data:`~phony_client.models.Event`); close it (or use ``with``) when
    you stop early. A call's stream stops by itself after ``call.ended``."""

    def __init__(self, http: SyncHttp, call_sid: str | None, since: int | None, max_reconnects: int) -> None:
        super().__init__(http.options, call_sid, since, max_reconnects)
        self._http = http
        self._connection: SyncConnection | None = None
        self._events = self._run()

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        return next(self._events)

    def __enter__(self) -> EventStream:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop: close the socket (an iteration waiting in another thread ends)."""
        self._closed = True
        if self._connection is not None:
            self._connection.close()
        # From another thread while it runs, the generator cannot be closed: it ends on the closed socket.
        with contextlib.suppress(ValueError):
            self._events.close()

    def _run(self) -> Generator[Event]:
        try:
            if self.call_sid is not None and self._given_since:
                call = self._http.get(Call, path("/calls/{}", self.call_sid))
                if self._ended_before(call):
                    return
            while not self._closed:
                conn = self._open()
                if conn is None:
                    return
                if self.call_sid is None and self.reconnects:
                    yield from self._catch_up()
                try:
                    for raw in conn:
                        for event in self._admit(parse_event(raw)):
                            self._tries.progressed()
                            yield event
                            if self._cursor.ended(event):
                                return
                except ConnectionClosed:
                    pass
                if self._closed:
                    return
                error = _close_error(conn.close_code, conn.close_reason)
                log.info("events: %s; reconnecting with since=%s", error, self.last_seq)
                time.sleep(backoff(self._tries.lost(error)))
        finally:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _open(self) -> SyncConnection | None:
        while not self._closed:
            url = self._url()
            try:
                self._connection = sync_connect(
                    url,
                    additional_headers=ws_headers(self._options),
                    user_agent_header=USER_AGENT,
                    open_timeout=_open_timeout(self._options),
                )
            except InvalidHandshake as exc:
                error = _handshake_error(exc, url)
                if not _retryable(error):
                    raise error from exc
            except (OSError, TimeoutError) as exc:
                error = APIConnectionError(f"event stream {url}: could not connect ({exc})")
            else:
                self._tries.connected()
                return self._connection
            time.sleep(backoff(self._tries.failed(error)))
        return None

    def _admit(self, event: Event) -> list[Event]:
        verdict = self._cursor.admit(event)
        if verdict == "next":
            return [event]
        if verdict == "duplicate":
            return []
        sid = event.call_sid or event.aggregate_id
        missing = self._fetch(sid, self._cursor.last.get(sid, 0), before=event.seq)
        return missing + ([event] if self._cursor.take(event) else [])

    def _fetch(self, sid: str, since: int, before: int | None = None) -> list[Event]:
        try:
            fetched = self._http.get(CallEvents, path("/calls/{}/events", sid), {"since": since})
        except PhonyError as exc:
            log.warning("events: cannot fetch the events of %s after seq %d: %s", sid, since, exc)
            return []
        return self._fill(fetched, before)

    def _catch_up(self) -> Iterator[Event]:
        """A tenant stream after a reconnect: what each followed call missed, from the store."""
        for sid, last in list(self._cursor.last.items()):
            for event in self._fetch(sid, last):
                yield event
                self._cursor.ended(event)


class AsyncEventStream(_StreamBase):
    """``async for`` it for events; ``await stream.close()`` (or ``async with``) to stop early."""

    def __init__(self, http: AsyncHttp, call_sid: str | None, since: int | None, max_reconnects: int) -> None:
        super().__init__(http.options, call_sid, since, max_reconnects)
        self._http = http
        self._connection: AsyncConnection | None = None
        self._events = self._run()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        return await self._events.__anext__()

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        self._closed = True
        if self._connection is not None:
            await self._connection.close()
        with contextlib.suppress(RuntimeError):  # running in another task: it ends on the closed socket
            await self._events.aclose()

    async def _run(self) -> AsyncGenerator[Event]:
        try:
            if self.call_sid is not None and self._given_since:
                call = await self._http.get(Call, path("/calls/{}", self.call_sid))
                if self._ended_before(call):
                    return
            while not self._closed:
                conn = await self._open()
                if conn is None:
                    return
                if self.call_sid is None and self.reconnects:
                    for sid, last in list(self._cursor.last.items()):
                        for event in await self._fetch(sid, last):
                            yield event
                            self._cursor.ended(event)
                try:
                    async for raw in conn:
                        for event in await self._admit(parse_event(raw)):
                            self._tries.progressed()
                            yield event
                            if self._cursor.ended(event):
                                return
                except ConnectionClosed:
                    pass
                if self._closed:
                    return
                error = _close_error(conn.close_code, conn.close_reason)
                log.info("events: %s; reconnecting with since=%s", error, self.last_seq)
                await asyncio.sleep(backoff(self._tries.lost(error)))
        finally:
            if self._connection is not None:
                with contextlib.suppress(Exception):
                    await self._connection.close()
                self._connection = None

    async def _open(self) -> AsyncConnection | None:
        while not self._closed:
            url = self._url()
            try:
                self._connection = await async_connect(
                    url,
                    additional_headers=ws_headers(self._options),
                    user_agent_header=USER_AGENT,
                    open_timeout=_open_timeout(self._options),
                )
            except InvalidHandshake as exc:
                error = _handshake_error(exc, url)
                if not _retryable(error):
                    raise error from exc
            except (OSError, TimeoutError) as exc:
                error = APIConnectionError(f"event stream {url}: could not connect ({exc})")
            else:
                self._tries.connected()
                return self._connection
            await asyncio.sleep(backoff(self._tries.failed(error)))
        return None

    async def _admit(self, event: Event) -> list[Event]:
        verdict = self._cursor.admit(event)
        if verdict == "next":
            return [event]
        if verdict == "duplicate":
            return []
        sid = event.call_sid or event.aggregate_id
        missing = await self._fetch(sid, self._cursor.last.get(sid, 0), before=event.seq)
        return missing + ([event] if self._cursor.take(event) else [])

    async def _fetch(self, sid: str, since: int, before: int | None = None) -> list[Event]:
        try:
            fetched = await self._http.get(CallEvents, path("/calls/{}/events", sid), {"since": since})
        except PhonyError as exc:
            log.warning("events: cannot fetch the events of %s after seq %d: %s", sid, since, exc)
            return []
        return self._fill(fetched, before)
