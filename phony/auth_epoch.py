"""The auth epoch: a token in Redis that changes whenever an answer to "who is this key?" may have.

The projector sets a fresh one (:func:`renew`) once it has applied an event that changes a key or
its tenant (a revocation, a suspension, new limits), before it tells the REST call waiting for that
change. An edge remembers who a key is together with the epoch it read before it looked the key up
(``phony.edge.key_cache``), and uses what it remembers only while the epoch is still that one: so
from the moment a revocation returns, no edge accepts the key.

A fresh token rather than a counter: a Redis that lost its data starts with no epoch, which matches
nothing remembered, where a counter would count again from 0 and match answers from before.
"""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from phony.config import Settings


def epoch_key(settings: Settings) -> str:
    return settings.channel("auth-epoch")


async def current(redis: Redis, settings: Settings) -> str:
    """The epoch now; one is set if there is none (a new deployment, a Redis that lost its data)."""
    key = epoch_key(settings)
    value = await redis.get(key)  # every request asks: a read, and the write only when there is none
    if value is None:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.set(key, uuid.uuid4().hex, nx=True)
            pipe.get(key)
            _, value = await pipe.execute()
    return value.decode() if isinstance(value, bytes) else str(value)


async def renew(redis: Redis, settings: Settings) -> None:
    """Make every remembered answer stale."""
    await redis.set(epoch_key(settings), uuid.uuid4().hex)
