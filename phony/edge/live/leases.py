"""How many event WebSockets an API key holds open, across every edge process (Redis).

Each open socket holds a lease: a member of the key's sorted set scored with its expiry, renewed while
the socket lives and removed when it closes. Counting live leases rather than INCR/DECR means a process
that dies without closing its sockets frees their places once the leases lapse (``LEASE_TTL_S``),
instead of leaving the key's count wrong for as long as the key is in use. Expiry uses Redis's clock,
so edge processes with skewed clocks agree.
"""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from phony.config import Settings

LEASE_TTL_S = 15

# KEYS[1] = the key's set; ARGV = limit, ttl ms, member. 1 if a place was taken, 0 if full.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS[1] = the key's set; ARGV = ttl ms, member. Also puts back a lease that lapsed while the
# process was stalled: the socket is still open, so it still counts.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""


class SocketLeases:
    """Acquire, renew and release places under a key's concurrent-socket limit."""

    def __init__(self, settings: Settings, redis: Redis) -> None:
        self._redis = redis
        self._namespace = settings.channel("ws")
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)

    def _key(self, key_id: str) -> str:
        return f"{self._namespace}:{key_id}"

    async def acquire(self, key_id: str, limit: int) -> str | None:
        """A lease id if the key holds fewer than ``limit`` sockets, else ``None``."""
        lease = uuid.uuid4().hex
        taken = await self._acquire(keys=[self._key(key_id)], args=[limit, LEASE_TTL_S * 1000, lease])
        return lease if int(taken) == 1 else None

    async def renew(self, key_id: str, lease: str) -> None:
        """Keep the lease alive for another ``LEASE_TTL_S``."""
        await self._renew(keys=[self._key(key_id)], args=[LEASE_TTL_S * 1000, lease])

    async def release(self, key_id: str, lease: str) -> None:
        """Give the place back (the socket closed)."""
        await self._redis.zrem(self._key(key_id), lease)
