"""Behaviour across processes: shared rate limits, health when a dependency dies, and commands that
outlive the processes handling them (read-your-writes timeout, worker restart)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from phony.config import Settings
from phony.events.log import read_log
from phony.sim.twilio import TwilioSim
from tests.calls import ring, wait_for_event
from tests.conftest import new_tenant
from tests.support import (
    ADMIN_KEY,
    PhonyProcess,
    Servers,
    SimEnv,
    TenantHandle,
    eventually,
    free_port,
    namespace_settings,
    phony_env,
)


@pytest.fixture
def processes() -> Iterator[list[PhonyProcess]]:
    started: list[PhonyProcess] = []
    yield started
    for p in started:
        p.stop()


async def start(
    processes: list[PhonyProcess], log_dir: Path, role: str, env: dict[str, str], wait: bool = True
) -> PhonyProcess:
    process = PhonyProcess(role, env)
    process.start(log_dir)
    processes.append(process)
    if wait and role in ("edge", "serve"):
        await process.ready()
    return process


async def test_rate_limit_is_shared_by_two_edge_processes(
    admin: httpx.AsyncClient,
    tenant: TenantHandle,
    servers: Servers,
    sims: SimEnv,
    namespace: str,
    log_dir: Path,
    processes: list[PhonyProcess],
) -> None:
    second = await start(processes, log_dir, "edge", phony_env(servers, namespace, sims))
    await admin.patch(f"/tenants/{tenant.id}", json={"limits": {"agents_per_minute": 6}})
    urls = [str(tenant.client.base_url), second.url]
    # The window is the calendar minute: start the burst where it cannot straddle a boundary.
    if 60 - time.time() % 60 < 3:
        await asyncio.sleep(60 - time.time() % 60 + 0.05)
    codes = [(await tenant.client.get(f"{urls[i % 2]}/agents/")).status_code for i in range(8)]
    assert codes == [200] * 6 + [429] * 2
    refused = await tenant.client.get(f"{second.url}/agents/")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


@pytest.fixture
def own_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    yield f"redis://127.0.0.1:{port}/0", proc
    proc.kill()
    proc.wait()


async def test_health_is_degraded_and_writes_503_when_redis_dies(
    tenant: TenantHandle,
    servers: Servers,
    sims: SimEnv,
    namespace: str,
    log_dir: Path,
    processes: list[PhonyProcess],
    own_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    redis_url, redis_proc = own_redis
    edge = await start(
        processes, log_dir, "edge", phony_env(servers, namespace, sims, PHONY_REDIS_URL=redis_url)
    )
    async with httpx.AsyncClient(
        base_url=edge.url, headers={"Authorization": f"Bearer {tenant.key}"}
    ) as client:
        healthy = (await client.get("/healthz")).json()
        assert healthy["dependencies"] == {"kafka": "ok", "mongodb": "ok", "redis": "ok"}
        redis_proc.kill()
        redis_proc.wait()
        r = await client.get("/healthz")
        assert r.status_code == 503
        assert r.json()["status"] == "degraded"
        assert r.json()["dependencies"] == {"kafka": "ok", "mongodb": "ok", "redis": "down"}
        write = await client.post("/agents/", json={"name": "x"})
        assert write.status_code == 503
        assert write.json()["error"]["code"] == "UNAVAILABLE"
        assert write.json()["error"]["details"] == {"dependency": "redis"}


async def test_write_not_projected_in_time_is_503_and_still_lands(
    servers: Servers, sims: SimEnv, log_dir: Path, processes: list[PhonyProcess]
) -> None:
    lonely = f"t{uuid.uuid4().hex[:10]}"
    env = phony_env(servers, lonely, sims, PHONY_READ_YOUR_WRITES_TIMEOUT_S="1")
    edge = await start(processes, log_dir, "edge", env)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=edge.url, headers=headers, timeout=10) as client:
        r = await client.post("/tenants/", json={"name": "patient"})
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "UNAVAILABLE"
        await start(processes, log_dir, "worker", env, wait=False)
        await start(processes, log_dir, "projector", env, wait=False)

        async def names() -> list[str]:
            return [t["name"] for t in (await client.get("/tenants/")).json()["tenants"]]

        assert await eventually(names, within=60) == ["patient"]


async def test_restarted_worker_continues_each_aggregate_from_the_log(
    servers: Servers, sims: SimEnv, log_dir: Path, processes: list[PhonyProcess]
) -> None:
    space = f"t{uuid.uuid4().hex[:10]}"
    env = phony_env(servers, space, sims)
    first = await start(processes, log_dir, "serve", env)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=first.url, headers=headers, timeout=30) as client:
        tenant = (await client.post("/tenants/", json={"name": "before"})).json()
        await client.patch(f"/tenants/{tenant['id']}", json={"name": "still before"})
    first.stop()
    second = await start(processes, log_dir, "serve", env)
    async with httpx.AsyncClient(base_url=second.url, headers=headers, timeout=30) as client:
        r = await client.patch(f"/tenants/{tenant['id']}", json={"name": "after"})
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "after"
    settings = Settings(_env_file=None, kafka_bootstrap=servers.kafka, topic_prefix=space, partitions=4)
    seqs = [(e.event.type, e.event.seq) async for e in read_log(settings, aggregate_id=tenant["id"])]
    assert seqs == [("tenant.created", 1), ("tenant.updated", 2), ("tenant.updated", 3)]


async def test_a_call_twilio_hung_up_while_the_whole_server_was_down_ends_when_it_is_back(
    servers: Servers, sims: SimEnv, log_dir: Path, processes: list[PhonyProcess], twilio_sim: TwilioSim
) -> None:
    """Everything in one process (``serve``) killed mid-call: the call's media stream goes with it,
    Twilio hangs up and its status callback finds no one. Started again, the worker restores the call,
    asks Twilio how it stands and ends it: no call stays live for ever, no model session is kept open."""
    space = f"t{uuid.uuid4().hex[:10]}"
    env = {**phony_env(servers, space, sims), "PHONY_STATUS_CHECK_S": "1"}
    settings = namespace_settings(servers, space, partitions=4)
    first = await start(processes, log_dir, "serve", env)
    admin = httpx.AsyncClient(base_url=first.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    async with admin:
        tenant = await new_tenant(admin)
    async with tenant.client:
        live = await ring(tenant, twilio_sim, first, "hold", settings)
        assert first.proc is not None
        os.kill(first.proc.pid, signal.SIGKILL)  # by PID; bounded: waited for below
        first.proc.wait(10)
        await asyncio.wait_for(live.call.status_reached("completed").wait(), 30)
        assert not [d for d in live.call.callbacks if d.status_code == 200], "a status callback was heard"
        again = PhonyProcess("serve", env, port=first.port)
        again.start(log_dir)
        processes.append(again)
        await again.ready()
        events = await wait_for_event(settings, live.call.sid, "call.ended")
        ended = [e for e in events if e.type == "call.ended"]
        assert [e.data["reason"] for e in ended] == ["caller_hangup"]
        call = (await tenant.client.get(f"/calls/{live.call.sid}")).json()
        assert (call["status"], call["end_reason"]) == ("completed", "caller_hangup")
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
