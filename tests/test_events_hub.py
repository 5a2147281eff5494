"""The edge's events hub on its own Redis: a lost connection ends every subscription (their sockets
tell clients to resume with since=), and subscribing works again once Redis is back."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from phony.config import Settings
from phony.edge.live import EventHub, HubUnavailable
from phony.events import envelope_for
from phony.events.calls import LatencyMeasured
from phony.projections.fanout import tenant_channel
from tests.support import eventually, free_port


class RedisServer:
    """A private ``redis-server`` this test may stop and start."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_hub_ends_subscriptions_when_redis_is_lost_and_serves_again_when_it_is_back(
    redis_server: RedisServer,
) -> None:
    settings = Settings(
        _env_file=None, redis_url=f"redis://127.0.0.1:{redis_server.port}/0", topic_prefix="hub"
    )
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
    channel = tenant_channel(settings, "tenant_1")

    async def pong() -> bool:
        try:
            return bool(await redis.ping())
        except RedisError:
            return False

    await eventually(pong, bool)
    hub = EventHub(settings, redis)
    await hub.start()
    try:
        async with hub.subscribe("tenant_1", None, 8) as sub:
            redis_server.stop()
            await asyncio.wait_for(sub.ended.wait(), 15)
            assert sub.reason == "interrupted"
        redis_server.start()
        await eventually(pong, bool)

        async def delivered() -> int:
            try:
                async with hub.subscribe("tenant_1", None, 8) as again:
                    event = envelope_for(
                        LatencyMeasured(metric="m", ms=1), aggregate_id="CA1", tenant_id="tenant_1", seq=7
                    )
                    await redis.publish(channel, event.to_json())
                    return (await asyncio.wait_for(again.get(), 2)).seq
            except (HubUnavailable, RedisError, TimeoutError):
                return 0

        assert await eventually(delivered, lambda seq: seq == 7, within=20) == 7
    finally:
        await hub.stop()
        await redis.aclose()
