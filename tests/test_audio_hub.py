"""The edge's shared subscriptions to call audio, on the real Redis: each media socket's feed gets its
own call's playback messages, decoded and in order, however many calls share the process's one
connection; what does not decode is dropped."""

from __future__ import annotations

import contextlib
import uuid

from redis.asyncio import Redis

from phony.commands.playback import PlayMark, PlayMedia, encode
from phony.config import Settings
from phony.edge.media import AudioFeed, audio_hub


async def test_each_calls_feed_gets_its_own_audio_in_order(settings: Settings) -> None:
    redis = Redis.from_url(settings.redis_url)
    hub = audio_hub(redis)
    await hub.start()
    calls = [f"audio-test:{uuid.uuid4().hex}" for _ in range(3)]
    feeds = {call: AudioFeed() for call in calls}
    try:
        async with contextlib.AsyncExitStack() as stack:
            for call, feed in feeds.items():
                await stack.enter_async_context(hub.listen(call, feed))
            for n in range(5):
                for call in calls:
                    await redis.publish(call, encode(PlayMedia(f"{call}:{n}", f"r:{n}")))
            for call, feed in feeds.items():
                got = [await feed.get() for _ in range(5)]
                assert got == [PlayMedia(f"{call}:{n}", f"r:{n}") for n in range(5)]
    finally:
        await hub.stop()
        await redis.aclose()


async def test_undecodable_audio_is_dropped_and_what_follows_delivered(settings: Settings) -> None:
    redis = Redis.from_url(settings.redis_url)
    hub = audio_hub(redis)
    await hub.start()
    call, feed = f"audio-test:{uuid.uuid4().hex}", AudioFeed()
    try:
        async with hub.listen(call, feed):
            for raw in ("not json", '{"k": "beep"}', '{"k": "media"}', encode(PlayMark("after"))):
                await redis.publish(call, raw)
            assert await feed.get() == PlayMark("after")
    finally:
        await hub.stop()
        await redis.aclose()
