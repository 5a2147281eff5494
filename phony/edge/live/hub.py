"""The edge process's one Redis subscriber for the events WebSockets.

Each tenant channel is subscribed once per process however many sockets watch it, and one reader task
decodes each event once and offers it to every interested socket's queue. Compared with a Redis
connection per socket this costs one connection per process, and Redis sends each event to each
process once instead of once per socket.

A socket may read the store only after Redis confirmed its channel's subscription (subscribe first,
then read: no gap). Confirmations come back in command order, so the hub counts the SUBSCRIBEs it sent
per channel and calls the channel ready when the last one is confirmed, which also covers a channel
unsubscribed and subscribed again before Redis answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from phony.config import Settings
from phony.edge.live.subscription import EndReason, LiveEvent, Subscription
from phony.events import decode
from phony.projections.fanout import tenant_channel

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 5.0
RETRY_S = 1.0


class HubUnavailable(Exception):
    """Redis did not confirm the subscription in time."""


@dataclass
class _Channel:
    subscribers: set[Subscription] = field(default_factory=set)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class EventHub:
    """Shared subscriptions to the tenants' event channels for this process's sockets."""

    def __init__(self, settings: Settings, redis: Redis) -> None:
        self._settings = settings
        self._redis = redis
        self._pubsub: PubSub = redis.pubsub()
        self._channels: dict[str, _Channel] = {}
        self._unconfirmed: Counter[str] = Counter()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect and start the reader task."""
        # Connected up front: the reader may wait on a connection with no channel yet. (redis-py leaves
        # PubSub.connect and aclose untyped, hence the ignores.)
        await self._pubsub.connect()  # type: ignore[no-untyped-call]
        self._reader = asyncio.create_task(self._read(), name="events-hub")

    async def stop(self) -> None:
        """End every subscription (their sockets close with 1001) and the Redis connection."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._end_all("shutdown")
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    @contextlib.asynccontextmanager
    async def subscribe(self, tenant_id: str, call_sid: str | None, size: int) -> AsyncIterator[Subscription]:
        """A live feed of the tenant's call events (of one call if ``call_sid``), yielded once Redis
        confirmed the subscription, so whatever is published from then on reaches it."""
        name = tenant_channel(self._settings, tenant_id)
        sub = Subscription(call_sid, size)
        channel = self._channels.get(name)
        if channel is None:
            channel = self._channels[name] = _Channel()
            self._unconfirmed[name] += 1
            try:
                await self._pubsub.subscribe(name)
            except BaseException:
                self._unconfirmed[name] -= 1  # never sent: no confirmation will come
                if not channel.subscribers and self._channels.get(name) is channel:
                    del self._channels[name]
                raise
        channel.subscribers.add(sub)
        try:
            try:
                await asyncio.wait_for(channel.ready.wait(), READY_TIMEOUT_S)
            except TimeoutError as exc:
                raise HubUnavailable(name) from exc
            if sub.reason is not None:
                raise HubUnavailable(name)
            yield sub
        finally:
            channel.subscribers.discard(sub)
            if not channel.subscribers and self._channels.get(name) is channel:
                del self._channels[name]
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(name)

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=False, timeout=None)
            except Exception:
                # Redis lost, or anything else: the one reader must not die quietly, every socket of
                # the process depends on it.
                log.warning("events hub reader failed; subscribers must reconnect", exc_info=True)
                await self._reset()
                continue
            if message is None:
                continue
            name = message["channel"].decode() if isinstance(message["channel"], bytes) else ""
            if message["type"] == "subscribe":
                self._confirmed(name)
            elif message["type"] == "message":
                self._dispatch(name, message["data"])

    def _confirmed(self, name: str) -> None:
        # Below zero when redis-py re-subscribed by itself after reconnecting: nothing to wait for.
        left = self._unconfirmed[name] - 1
        if left > 0:
            self._unconfirmed[name] = left
            return
        self._unconfirmed.pop(name, None)
        channel = self._channels.get(name)
        if channel is not None:
            channel.ready.set()

    def _dispatch(self, name: str, raw: bytes) -> None:
        channel = self._channels.get(name)
        if channel is None or not channel.subscribers:
            return
        try:
            event = decode(raw)
        except (ValidationError, LookupError, ValueError):
            log.error("undecodable event on %s dropped", name)
            return
        if event.aggregate_type != "call":
            return  # the stream is of calls; agent and tenant events share the channel
        live = LiveEvent.of(event)
        for sub in list(channel.subscribers):
            if sub.wants(live):
                sub.offer(live)

    def _end_all(self, reason: EndReason) -> None:
        channels, self._channels = self._channels, {}
        self._unconfirmed.clear()
        for channel in channels.values():
            for sub in channel.subscribers:
                sub.end(reason)
            channel.ready.set()  # wake sockets still waiting for a confirmation: they see the end

    async def _reset(self) -> None:
        """After a lost connection events may have been missed: end every subscription (the clients
        resume with ``since=``) and start over on a fresh connection."""
        self._end_all("interrupted")
        old, self._pubsub = self._pubsub, self._redis.pubsub()
        with contextlib.suppress(RedisError, OSError):
            await old.aclose()  # type: ignore[no-untyped-call]
        while True:
            await asyncio.sleep(RETRY_S)
            try:
                await self._pubsub.connect()  # type: ignore[no-untyped-call]
                return
            except (RedisError, OSError) as exc:
                log.warning("events hub cannot reach Redis: %s", exc)
