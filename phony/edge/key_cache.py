"""Who an API key is, remembered by an edge process between requests while the auth epoch
(``phony.auth_epoch``) stays the same: a request then costs a Redis read instead of a MongoDB one.

Only accepted keys are remembered (a refused one is read again each time, so a key issued since is
found); an expiry is checked on every use; when Redis cannot be asked, the key is looked up as if
nothing were remembered.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from phony import auth_epoch
from phony.config import Settings

CAPACITY = 10_000

P = TypeVar("P")


@dataclass(frozen=True)
class Known(Generic[P]):
    """An accepted key as looked up: who it is, and until when."""

    principal: P
    expires_at: datetime | None


@dataclass(frozen=True)
class _Entry(Generic[P]):
    known: Known[P]
    epoch: str


class KeyCache(Generic[P]):
    """Accepted keys by hash, the most recently used ``capacity`` of them."""

    def __init__(self, redis: Redis, settings: Settings, capacity: int = CAPACITY) -> None:
        self._redis = redis
        self._settings = settings
        self._capacity = capacity
        self._entries: OrderedDict[str, _Entry[P]] = OrderedDict()

    async def resolve(self, key_hash: str, look_up: Callable[[], Awaitable[Known[P]]]) -> P:
        """The principal of ``key_hash``: remembered, or ``look_up()`` (which raises for a refused
        key, and then nothing is remembered)."""
        try:
            epoch = await auth_epoch.current(self._redis, self._settings)
        except (RedisError, OSError):
            return (await look_up()).principal
        entry = self._entries.get(key_hash)
        if entry is not None and entry.epoch == epoch and not _expired(entry.known.expires_at):
            self._entries.move_to_end(key_hash)
            return entry.known.principal
        known = await look_up()  # after the epoch was read: a change since makes this entry stale
        self._entries[key_hash] = _Entry(known, epoch)
        self._entries.move_to_end(key_hash)
        if len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return known.principal


def _expired(expires_at: datetime | None) -> bool:
    return expires_at is not None and expires_at <= datetime.now(UTC)
