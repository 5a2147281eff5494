"""A live call survives a Redis outage (SPEC §7): the audio path retries, the call goes on when
Redis is back, and a Redis failure is never reported as the model's."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from phony.config import Settings
from phony.sim.twilio import SimCall, TwilioSim
from tests.calls import call_events, of_type, ring, wait_for_event
from tests.deployment import log_problems, tenant_on
from tests.support import (
    PhonyProcess,
    Servers,
    SimEnv,
    drop_namespace,
    eventually,
    free_port,
    namespace_settings,
    phony_env,
)

OUTAGE_S = 15


@dataclass
class OwnRedis:
    """A redis-server of the test's own, stopped and started again by PID on the same port."""

    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    redis = OwnRedis(free_port())
    redis.start()
    try:
        yield redis
    finally:
        redis.kill()


@pytest.fixture
async def serve_on_own_redis(
    servers: Servers, sims: SimEnv, log_dir: Path, own_redis: OwnRedis
) -> AsyncIterator[tuple[PhonyProcess, Settings]]:
    space = f"t{uuid.uuid4().hex[:10]}"
    env = phony_env(servers, space, sims, PHONY_REDIS_URL=own_redis.url)
    process = PhonyProcess("serve", env)
    process.start(log_dir)
    settings = namespace_settings(servers, space, int(env["PHONY_PARTITIONS"]), redis_url=own_redis.url)
    try:
        await process.ready()
        yield process, settings
    finally:
        process.stop()
        await drop_namespace(servers, space)


async def heard_after(call: SimCall, moment: float) -> float | None:
    return call.first_ai_audio_after(moment)


async def test_a_live_call_goes_on_through_a_redis_outage(
    serve_on_own_redis: tuple[PhonyProcess, Settings], own_redis: OwnRedis, twilio_sim: TwilioSim
) -> None:
    phony, settings = serve_on_own_redis
    async with tenant_on(phony) as tenant:
        live = await ring(tenant, twilio_sim, phony, "hold", settings, require_approval=False)
        await wait_for_event(settings, live.call.sid, "ai.response")

        own_redis.kill()
        async with httpx.AsyncClient(base_url=phony.url) as client:

            async def health() -> httpx.Response:
                return await client.get("/healthz")

            down = await eventually(health, lambda r: r.status_code == 503, within=10)
            assert down.json()["dependencies"]["redis"] == "down"
            # The outage itself is the test's input: the caller keeps talking for OUTAGE_S into a call
            # whose audio back cannot be delivered meanwhile.
            await asyncio.sleep(OUTAGE_S)
            own_redis.start()
            back_at = time.monotonic()
            await eventually(health, lambda r: r.status_code == 200, within=30)

        heard = await eventually(lambda: heard_after(live.call, back_at), lambda t: t is not None, within=60)
        assert heard is not None
        print(f"caller heard the AI again {heard - back_at:.2f} s after Redis was back")
        events = await call_events(settings, live.call.sid)
        assert of_type(events, "call.ended") == []  # the outage ended nothing
        assert [e.data["code"] for e in of_type(events, "error.occurred")] == []

        r = await tenant.client.post("/override/end", json={"callSid": live.call.sid})
        assert r.status_code == 200, r.text
        events = await wait_for_event(settings, live.call.sid, "call.ended", within=60)
        assert log_problems(events, tenant.id) == []
        assert of_type(events, "call.ended")[0].data["reason"] == "supervisor_ended"
