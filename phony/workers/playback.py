"""Audio to the caller, fenced at the source: only the current owner of a call's partition can
publish on the call's playback channel.

A worker that lost partition *p* without knowing it (paused by SIGSTOP, or stuck in a long GC, while
Kafka handed *p* to another worker) still holds live model sessions for *p*'s calls and would go on
speaking over the new owner as soon as it runs again. So each partition has an owner key in Redis
holding the token of its current owner: the new owner ``claim``s it when it takes *p*, before it
restores anything, and every send checks the key and publishes in one Lua script, so no stale sender
can slip a message in between the check and the publish.

The token should be new for each assignment (a uuid, or the consumer's generation and member id), so
that even the same worker's sessions from an earlier assignment of *p* are fenced.
"""

from __future__ import annotations

from redis.asyncio import Redis

from phony.commands.playback import PlaybackMessage, encode, playback_channel
from phony.config import Settings

__all__ = ["Fenced", "PlaybackSender", "claim", "owner_key", "release"]

# KEYS[1] the partition's owner key; ARGV: the sender's token, the call's channel, the message.
# Returns the number of subscribers that got the message, or the owner's token (a string) if the
# sender is not the owner. PUBLISH's channel is not a key: it is not in KEYS.
_SEND = """
local owner = redis.call('GET', KEYS[1])
if not owner then
  -- The key is gone only if Redis restarted without it (or the owner released the partition, after
  -- its sessions stopped sending). Then the current owner is the only worker still sending for the
  -- partition: a stale worker that ran while the key was there got Fenced and closed its sessions, one
  -- still paused sends nothing. So the sender takes the key back and goes on (NX only says so: the
  -- script runs atomically, nobody can have set the key since the GET). A stale worker waking up and
  -- sending first in that window is a second fault on top of the restart, out of scope (it would
  -- fence the owner until the next claim).
  redis.call('SET', KEYS[1], ARGV[1], 'NX')
  owner = ARGV[1]
end
if owner ~= ARGV[1] then
  return owner
end
return redis.call('PUBLISH', ARGV[2], ARGV[3])
"""

# Compare-and-delete: a worker releasing a partition must not remove the claim of the worker that has
# already taken it over.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Fenced(Exception):
    """The sender's token is not the partition's owner any more: another worker has taken the
    partition, and this one must stop speaking for its calls."""

    def __init__(self, partition: int, token: str, owner: str) -> None:
        super().__init__(f"partition {partition} is owned by {owner!r}, not {token!r}")
        self.partition = partition
        self.token = token
        self.owner = owner


def owner_key(settings: Settings, partition: int) -> str:
    """The Redis key holding the token of the worker that owns call partition ``partition``."""
    return settings.channel(f"calls-owner:{partition}")


async def claim(redis: Redis, settings: Settings, partition: int, token: str) -> None:
    """Make ``token`` the owner of ``partition``, fencing whoever held it. The new owner calls this
    when it takes the partition, before it restores any of its calls."""
    await redis.set(owner_key(settings, partition), token)


async def release(redis: Redis, settings: Settings, partition: int, token: str) -> bool:
    """Give up ``partition`` if ``token`` still owns it (``False`` if another worker already claimed
    it: its claim stays). Call it after the partition's sessions stopped sending: a send after the
    release would find no owner and take the partition back."""
    deleted = await redis.register_script(_RELEASE)(keys=[owner_key(settings, partition)], args=[token])
    return bool(deleted)


class PlaybackSender:
    """Publishes playback messages for the calls of the partitions a worker owns."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._settings = settings
        # Registered once: each send is an EVALSHA of the script's hash, and redis-py loads the script
        # again by itself if Redis answers NOSCRIPT (it restarted and forgot its scripts).
        self._send = redis.register_script(_SEND)

    async def send(self, call_sid: str, partition: int, token: str, message: PlaybackMessage) -> None:
        """Publish ``message`` on the call's playback channel if ``token`` owns ``partition``, else
        raise ``Fenced`` (nothing is published). Redis errors propagate: the caller decides whether
        to retry."""
        result = await self._send(
            keys=[owner_key(self._settings, partition)],
            args=[token, playback_channel(self._settings, call_sid), encode(message)],
        )
        if isinstance(result, bytes | str):  # the owner's token (bytes unless decode_responses)
            owner = result.decode() if isinstance(result, bytes) else result
            raise Fenced(partition, token, owner)
