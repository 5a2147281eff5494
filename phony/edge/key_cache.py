"""Who an API key is, remembered by an edge process between requests while the auth epoch
(``phony.epochs.AUTH``) stays the same: a request then costs a Redis read instead of a MongoDB one.

Only accepted keys are remembered (a refused one is read again each time, so a key issued since is
found); an expiry is checked on every use; when Redis cannot be asked, the key is looked up as if
nothing were remembered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from redis.asyncio import Redis

from phony import epochs
from phony.config import Settings
from phony.edge.remembered import Remembered

CAPACITY = 10_000

P = TypeVar("P")


@dataclass(frozen=True)
class Known(Generic[P]):
    """An accepted key as looked up: who it is, and until when."""

    principal: P
    expires_at: datetime | None


class KeyCache(Generic[P]):
    """Accepted keys by hash, the most recently used ``capacity`` of them."""

    def __init__(self, redis: Redis, settings: Settings, capacity: int = CAPACITY) -> None:
        self._known: Remembered[Known[P]] = Remembered(redis, settings, capacity)

    async def resolve(self, key_hash: str, look_up: Callable[[], Awaitable[Known[P]]]) -> P:
        """The principal of ``key_hash``: remembered, or ``look_up()`` (which raises for a refused
        key, and then nothing is remembered)."""
        known = await self._known.resolve(key_hash, epochs.AUTH, look_up, usable=_unexpired)
        return known.principal


def _unexpired(known: Known[Any]) -> bool:
    return known.expires_at is None or known.expires_at > datetime.now(UTC)
