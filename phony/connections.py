"""The connections every Phony process opens: Redis and MongoDB, with the topics created and the read
models bound (the edge, a standalone worker or projector, and ``phony serve`` all start this way)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from pymongo import AsyncMongoClient
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from phony.config import Settings
from phony.events.log import ensure_topics
from phony.projections.documents import init_read_models, mongo_client


@asynccontextmanager
async def connections(settings: Settings) -> AsyncIterator[tuple[Redis, AsyncMongoClient[dict[str, Any]]]]:
    """Redis and MongoDB clients (closed on exit), with topics and read models ready."""
    async with AsyncExitStack() as stack:
        # Concurrent REST requests and socket checks each borrow one for a moment.
        # A pooled connection left over from before a Redis restart fails once ("connection closed by
        # server"): tried again at once on a fresh one, so the first request after Redis is back
        # does not get a 503 for a dependency that is up.
        redis = Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=2,
            socket_timeout=5,
            max_connections=settings.redis_max_connections,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.02), retries=2),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
        stack.push_async_callback(redis.aclose)
        mongo = mongo_client(settings)
        stack.push_async_callback(mongo.close)
        await ensure_topics(settings)
        await init_read_models(mongo, settings)
        yield redis, mongo
