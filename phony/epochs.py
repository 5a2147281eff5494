"""Epochs: tokens in Redis, each changing whenever the answers it stands for may have.

The projector sets a fresh one (:func:`renew`) once it has applied an event that changes such an
answer, before it tells the REST call waiting for that change. An edge remembers an answer together
with the epoch it read before it looked the answer up (``phony.edge.remembered``), and uses what it
remembers only while the epoch is still that one: so from the moment a change returns, no edge
answers from before it.

- :data:`AUTH`: who a key is. Renewed by a key's revocation and by its tenant's change (status,
  limits), which the key documents carry.
- :func:`agents_of`: a tenant's agent lists. Renewed by every event of one of its agents.

A fresh token rather than a counter: a Redis that lost its data starts with no epoch, which matches
nothing remembered, where a counter would count again from 0 and match answers from before.
"""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from phony.config import Settings

AUTH = "auth"


def agents_of(tenant_id: str) -> str:
    return f"agents:{tenant_id}"


def epoch_key(settings: Settings, name: str) -> str:
    return settings.channel(f"{name}-epoch")


async def current(redis: Redis, settings: Settings, name: str) -> str:
    """The epoch ``name`` now; one is set if there is none (a new deployment, a new tenant, a Redis
    that lost its data)."""
    key = epoch_key(settings, name)
    value = await redis.get(key)  # every request asks: a read, and the write only when there is none
    if value is None:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.set(key, uuid.uuid4().hex, nx=True)
            pipe.get(key)
            _, value = await pipe.execute()
    return value.decode() if isinstance(value, bytes) else str(value)


async def renew(redis: Redis, settings: Settings, name: str) -> None:
    """Make every answer remembered under the epoch ``name`` stale."""
    await redis.set(epoch_key(settings, name), uuid.uuid4().hex)
