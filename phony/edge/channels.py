"""The edge process's one Redis pub/sub connection per kind of feed (events, call audio).

Each channel is subscribed once per process however many listeners want it, and one reader task
decodes each message once and hands it to every listener of its channel. Compared with a Redis
connection per socket this costs one connection per process, and Redis sends each message to each
process once instead of once per socket. Listeners never block the reader: they queue what they get.

A listener may rely on having everything published after its subscription is confirmed (subscribe
first, then read the store or start the producer: no gap). Confirmations come back in command order,
so the hub counts the SUBSCRIBEs it sent per channel and calls the channel ready when the last one is
confirmed, which also covers a channel unsubscribed and subscribed again before Redis answered.

When the connection is lost, messages may have been missed: every listener is ended (``interrupted``)
and the hub reconnects for the next ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 5.0
RETRY_S = 1.0

EndReason = Literal["overflow", "interrupted", "shutdown"]
T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class HubUnavailable(Exception):
    """Redis did not confirm the subscription in time, or the hub lost it meanwhile."""


class Listener(Protocol[T_contra]):
    """Who gets a channel's messages: must not block (it runs on the hub's one reader task)."""

    @property
    def reason(self) -> EndReason | None: ...

    def deliver(self, item: T_contra) -> None: ...

    def end(self, reason: EndReason) -> None: ...


@dataclass
class _Channel(Generic[T]):
    listeners: set[Listener[T]] = field(default_factory=set)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class ChannelHub(Generic[T]):
    """Shared subscriptions of one process. ``decode`` turns a message's bytes into what listeners
    get, once per message (``None`` or an exception: dropped)."""

    def __init__(self, redis: Redis, name: str, decode: Callable[[bytes], T | None]) -> None:
        self._redis = redis
        self._name = name
        self._decode = decode
        self._pubsub: PubSub = redis.pubsub()
        self._channels: dict[str, _Channel[T]] = {}
        self._unconfirmed: Counter[str] = Counter()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect and start the reader task."""
        # Connected up front: the reader may wait on a connection with no channel yet. (redis-py leaves
        # PubSub.connect and aclose untyped, hence the ignores.)
        await self._pubsub.connect()  # type: ignore[no-untyped-call]
        self._reader = asyncio.create_task(self._read(), name=f"{self._name}-hub")

    async def stop(self) -> None:
        """End every listener (``shutdown``) and close the Redis connection."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._end_all("shutdown")
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    @contextlib.asynccontextmanager
    async def listen(self, name: str, listener: Listener[T]) -> AsyncIterator[None]:
        """Feed ``listener`` the messages of channel ``name``; entered once Redis confirmed the
        subscription (``HubUnavailable`` if it does not in time)."""
        channel = self._channels.get(name)
        if channel is None:
            channel = self._channels[name] = _Channel()
            self._unconfirmed[name] += 1
            try:
                await self._pubsub.subscribe(name)
            except BaseException:
                self._unconfirmed[name] -= 1  # never sent: no confirmation will come
                if not channel.listeners and self._channels.get(name) is channel:
                    del self._channels[name]
                raise
        channel.listeners.add(listener)
        try:
            try:
                await asyncio.wait_for(channel.ready.wait(), READY_TIMEOUT_S)
            except TimeoutError as exc:
                raise HubUnavailable(name) from exc
            if listener.reason is not None:
                raise HubUnavailable(name)
            yield
        finally:
            channel.listeners.discard(listener)
            if not channel.listeners and self._channels.get(name) is channel:
                del self._channels[name]
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(name)

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(ignore_subscribe_messages=False, timeout=None)
            except Exception:
                # Redis lost, or anything else: the one reader must not die quietly, every listener of
                # the process depends on it.
                log.warning("%s hub reader failed; listeners must start over", self._name, exc_info=True)
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
        if channel is None or not channel.listeners:
            return
        try:
            item = self._decode(raw)
        except Exception:
            log.error("undecodable message on %s dropped", name)
            return
        if item is None:
            return
        for listener in list(channel.listeners):
            listener.deliver(item)

    def _end_all(self, reason: EndReason) -> None:
        channels, self._channels = self._channels, {}
        self._unconfirmed.clear()
        for channel in channels.values():
            for listener in channel.listeners:
                listener.end(reason)
            channel.ready.set()  # wake listeners still waiting for a confirmation: they see the end

    async def _reset(self) -> None:
        """After a lost connection messages may have been missed: end every listener and start over
        on a fresh connection."""
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
                log.warning("%s hub cannot reach Redis: %s", self._name, exc)
