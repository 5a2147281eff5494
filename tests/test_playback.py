"""The playback channel from worker to edge: one typed union on the JSON the worker has always
published, and fencing at the source, on the real Redis, so that a worker that lost a call's
partition cannot speak to the caller any more."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from phony.commands.playback import (
    ClearPlayback,
    CloseStream,
    PlaybackMessage,
    PlayMark,
    PlayMedia,
    decode,
    encode,
    playback_channel,
)
from phony.config import Settings
from phony.workers.playback import Fenced, PlaybackSender, claim, owner_key, release

FRAME = base64.b64encode(bytes(range(256)) * 2).decode()  # has "+", "/" and "=" padding
ODD = [
    "",
    "resp_ABC:16000",
    'a "quote" and a \\ backslash',
    "new\nline, tab\t, nul\x00, escape\x1b",
    "é ü 中文 🎉",
    "\ud800 lone surrogate",
    '{"k": "close", "r": "injected"}',
]
MESSAGES: list[PlaybackMessage] = [
    PlayMedia(FRAME, None),
    *(PlayMedia(FRAME, name) for name in ODD),
    PlayMedia('not "base64"\n at all', "m"),
    *(PlayMark(name) for name in ODD),
    ClearPlayback(),
    *(CloseStream(reason) for reason in ODD),
]
# The dicts the worker has published with json.dumps, and the message each stands for.
TODAY: list[tuple[dict[str, Any], PlaybackMessage]] = [
    ({"k": "media", "p": FRAME, "n": "resp_ABC:16000"}, PlayMedia(FRAME, "resp_ABC:16000")),
    ({"k": "media", "p": FRAME}, PlayMedia(FRAME, None)),
    *(({"k": "media", "p": FRAME, "n": name}, PlayMedia(FRAME, name)) for name in ODD),
    *(({"k": "mark", "n": name}, PlayMark(name)) for name in ODD),
    ({"k": "clear"}, ClearPlayback()),
    *(({"k": "close", "r": reason}, CloseStream(reason)) for reason in ODD),
]


@pytest.mark.parametrize("message", MESSAGES, ids=repr)
def test_every_message_survives_encode_and_decode(message: PlaybackMessage) -> None:
    wire = encode(message)
    assert decode(wire) == message
    assert decode(wire.encode()) == message  # as the hub gets it from Redis


@pytest.mark.parametrize(("today", "message"), TODAY, ids=repr)
def test_the_wire_form_is_todays_json(today: dict[str, Any], message: PlaybackMessage) -> None:
    assert encode(message) == json.dumps(today)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"k":"clear"}', ClearPlayback()),  # the worker's barge-in, written by hand
        (b'{"k":"media","p":"AAAA","n":"r:1"}', PlayMedia("AAAA", "r:1")),
        (b'{"k": "media", "p": "AAAA", "n": null}', PlayMedia("AAAA", None)),
        (b'{"k": "close", "r": "unknown call"}', CloseStream("unknown call")),
        (b'{"k": "mark", "n": "r:2", "later": "a field a newer worker added"}', PlayMark("r:2")),
    ],
    ids=repr,
)
def test_decode_reads_what_workers_publish(raw: bytes, message: PlaybackMessage) -> None:
    assert decode(raw) == message


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[]",
        b'"media"',
        b"{}",
        b'{"k": "beep"}',
        b'{"k": "media"}',
        b'{"k": "media", "p": 5}',
        b'{"k": "media", "p": "AAAA", "n": 7}',
        b'{"k": "mark"}',
        b'{"k": "mark", "n": null}',
        b'{"k": "close"}',
        b'{"k": "close", "r": ["x"]}',
        b'{"p": "AAAA"}',
        b"\xff\xfe\xff",
        b"[" * 100_000,
    ],
    ids=lambda raw: repr(raw[:40]),
)
def test_malformed_playback_raises_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (any ValueError: decode promises no finer one)
        decode(raw)


def test_playback_channel_is_the_calls_audio_channel(settings: Settings) -> None:
    assert playback_channel(settings, "CA123") == settings.channel("audio:CA123")


@pytest.fixture
async def own(settings: Settings, redis: Redis) -> AsyncIterator[Settings]:
    """Settings whose owner keys and channels belong to this test alone (deleted afterwards)."""
    mine = settings.model_copy(update={"topic_prefix": f"{settings.topic_prefix}-pb{uuid.uuid4().hex[:8]}"})
    yield mine
    async for key in redis.scan_iter(match=mine.channel("*")):
        await redis.delete(key)


Heard = Callable[[], Awaitable[PlaybackMessage]]


@asynccontextmanager
async def listening(redis: Redis, settings: Settings, call_sid: str) -> AsyncIterator[Heard]:
    """Subscribe to the call's playback channel, as the edge does; yields "the next message heard"."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(playback_channel(settings, call_sid))
    confirmed = await pubsub.get_message(timeout=5)
    assert confirmed is not None
    assert confirmed["type"] == "subscribe"

    async def heard() -> PlaybackMessage:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
        assert message is not None, "nothing was published"
        return decode(message["data"])

    try:
        yield heard
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # (redis-py leaves it untyped)


async def test_a_sender_that_does_not_own_the_partition_is_fenced_and_publishes_nothing(
    redis: Redis, own: Settings
) -> None:
    sender = PlaybackSender(redis, own)
    await claim(redis, own, 3, "owner")
    async with listening(redis, own, "CAfenced") as heard:
        with pytest.raises(Fenced) as fenced:
            await sender.send("CAfenced", 3, "stale", PlayMedia(FRAME, "stale:1"))
        assert (fenced.value.partition, fenced.value.owner) == (3, "owner")
        # Pub/sub keeps the order of publishes: had the stale frame gone out, it would be heard first.
        await sender.send("CAfenced", 3, "owner", PlayMark("after"))
        assert await heard() == PlayMark("after")


async def test_the_owners_messages_arrive_in_order(redis: Redis, own: Settings) -> None:
    sender = PlaybackSender(redis, own)
    await claim(redis, own, 0, "owner")
    sent: list[PlaybackMessage] = [
        m for n in range(20) for m in (PlayMedia(f"{FRAME}{n:04d}", f"r:{n}"), PlayMark(f"m{n}"))
    ]
    sent += [ClearPlayback(), CloseStream("call has ended")]
    async with listening(redis, own, "CAorder") as heard:
        for message in sent:
            await sender.send("CAorder", 0, "owner", message)
        assert [await heard() for _ in sent] == sent


async def test_a_claim_by_a_second_token_fences_the_first(redis: Redis, own: Settings) -> None:
    sender = PlaybackSender(redis, own)
    await claim(redis, own, 1, "first")
    async with listening(redis, own, "CAtakeover") as heard:
        await sender.send("CAtakeover", 1, "first", PlayMark("first:1"))
        await claim(redis, own, 1, "second")
        with pytest.raises(Fenced):
            await sender.send("CAtakeover", 1, "first", PlayMark("first:2"))
        await sender.send("CAtakeover", 1, "second", PlayMark("second:1"))
        assert [await heard(), await heard()] == [PlayMark("first:1"), PlayMark("second:1")]


async def test_a_missing_owner_key_is_reclaimed_by_the_next_sender(redis: Redis, own: Settings) -> None:
    sender = PlaybackSender(redis, own)
    await claim(redis, own, 2, "owner")
    await redis.delete(owner_key(own, 2))  # what a Redis restart without persistence leaves
    async with listening(redis, own, "CAreclaim") as heard:
        await sender.send("CAreclaim", 2, "owner", PlayMark("still speaking"))
        assert await heard() == PlayMark("still speaking")
    assert await redis.get(owner_key(own, 2)) == b"owner"
    with pytest.raises(Fenced):
        await sender.send("CAreclaim", 2, "other", PlayMark("late"))


async def test_release_removes_only_the_releasers_claim(redis: Redis, own: Settings) -> None:
    await claim(redis, own, 4, "new owner")
    assert not await release(redis, own, 4, "old owner")
    assert await redis.get(owner_key(own, 4)) == b"new owner"
    assert await release(redis, own, 4, "new owner")
    assert await redis.get(owner_key(own, 4)) is None


async def test_the_sender_loads_its_script_again_after_redis_forgot_it(redis: Redis, own: Settings) -> None:
    sender = PlaybackSender(redis, own)
    await claim(redis, own, 5, "owner")
    async with listening(redis, own, "CAflush") as heard:
        await sender.send("CAflush", 5, "owner", PlayMark("before"))
        # What a restart does to the script cache (redis-py's own scripts load themselves again too).
        await redis.script_flush()
        await sender.send("CAflush", 5, "owner", PlayMark("after"))
        assert [await heard(), await heard()] == [PlayMark("before"), PlayMark("after")]


async def test_redis_errors_reach_the_sender_caller(own: Settings) -> None:
    unreachable = Redis(host="127.0.0.1", port=1)
    try:
        with pytest.raises(RedisConnectionError):
            await PlaybackSender(unreachable, own).send("CAlost", 0, "owner", ClearPlayback())
    finally:
        await unreachable.aclose()
