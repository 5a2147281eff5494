"""Rate limits per API key and category, counted in Redis so every edge process shares them."""

from __future__ import annotations

import math
import time

from redis.asyncio import Redis

from phony.edge.errors import ApiError

WINDOW_S = 60


async def hit(redis: Redis, namespace: str, bucket: str, limit: int) -> None:
    """Count one request in ``bucket``'s current one-minute window; 429 with ``Retry-After`` beyond
    ``limit``. A fixed window: at most ``limit`` per calendar minute, one INCR round trip each."""
    now = time.time()
    window = int(now // WINDOW_S)
    key = f"{namespace}:rl:{bucket}:{window}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, WINDOW_S * 2)
        count, _ = await pipe.execute()
    if int(count) > limit:
        retry = max(1, math.ceil((window + 1) * WINDOW_S - now))
        raise ApiError(
            429,
            f"rate limit of {limit} requests per minute exceeded",
            details={"limit": limit, "window_seconds": WINDOW_S, "retry_after": retry},
            headers={"Retry-After": str(retry)},
        )
