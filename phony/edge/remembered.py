"""Answers an edge process remembers between requests while their epoch (``phony.epochs``) stays the
same: a request then costs a Redis read instead of MongoDB ones.

What is remembered was looked up after its epoch was read, so a change the projector applies since
(it renews the epoch before the change's REST call returns) makes it stale. Requests that find the
same answer missing under the same epoch share one look-up (32 dashboards asking for a page just
after a change cost one store read, not 32). When Redis cannot be asked, the answer is looked up as
if nothing were remembered.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from phony import epochs
from phony.config import Settings

V = TypeVar("V")


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    epoch: str


def _always(_: object) -> bool:
    return True


class Remembered(Generic[V]):
    """The most recently used ``capacity`` answers, by key."""

    def __init__(self, redis: Redis, settings: Settings, capacity: int) -> None:
        self._redis = redis
        self._settings = settings
        self._capacity = capacity
        self._entries: OrderedDict[str, _Entry[V]] = OrderedDict()
        self._looking: dict[tuple[str, str], asyncio.Future[V]] = {}

    async def resolve(
        self,
        key: str,
        epoch: str,
        look_up: Callable[[], Awaitable[V]],
        usable: Callable[[V], bool] = _always,
    ) -> V:
        """The answer for ``key``: remembered under the epoch named ``epoch`` as it is now (and
        ``usable``), else ``look_up()``, remembered if it returns (an exception remembers nothing)."""
        try:
            now = await epochs.current(self._redis, self._settings, epoch)
        except (RedisError, OSError):
            return await look_up()
        entry = self._entries.get(key)
        if entry is not None and entry.epoch == now and usable(entry.value):
            self._entries.move_to_end(key)
            return entry.value
        looking = self._looking.get((key, now))
        if looking is None:
            # After the epoch was read: a change since makes what it finds stale.
            looking = asyncio.ensure_future(look_up())
            self._looking[(key, now)] = looking
            looking.add_done_callback(lambda done: self._looked((key, now), done))
        value = await asyncio.shield(looking)  # a waiter cancelled does not cancel the others' look-up
        self._entries[key] = _Entry(value, now)
        self._entries.move_to_end(key)
        if len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return value

    def _looked(self, key: tuple[str, str], done: asyncio.Future[V]) -> None:
        self._looking.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: its waiters have it, or had all gone
