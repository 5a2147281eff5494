"""What every benchmark needs: the servers (the project's services unless ``PHONY_*`` URLs say
otherwise), a Phony of its own in a fresh namespace, and a tenant whose rate limits do not get in the
way of a load test."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import DeleteGroupsRequest
from redis.asyncio import Redis

from phony.config import Settings
from tests.support import (
    ADMIN_KEY,
    PhonyProcess,
    Servers,
    drop_namespace,
    eventually,
    free_port,
    phony_env,
)

BENCH_LIMITS = {"agents_per_minute": 100_000, "calls_per_minute": 100_000, "websockets": 10_000}


def servers_from_env() -> Servers:
    """``PHONY_KAFKA_BOOTSTRAP`` / ``PHONY_MONGODB_URL`` / ``PHONY_REDIS_URL``, else the defaults."""
    defaults = Settings(_env_file=None)
    return Servers(
        os.environ.get("PHONY_KAFKA_BOOTSTRAP", defaults.kafka_bootstrap),
        os.environ.get("PHONY_MONGODB_URL", defaults.mongodb_url),
        os.environ.get("PHONY_REDIS_URL", defaults.redis_url),
    )


def serve_process(servers: Servers, namespace: str, **extra: str) -> PhonyProcess:
    """``phony serve`` in ``namespace`` with simulators on free ports (another Phony may hold the
    default ones), logging warnings only; not started yet."""
    env = phony_env(
        servers,
        namespace,
        PHONY_LOG_LEVEL="WARNING",
        PHONY_SIM_OPENAI_PORT=str(free_port()),
        PHONY_SIM_TWILIO_PORT=str(free_port()),
    )
    return PhonyProcess("serve", {**env, **extra})


class FloorProcess:
    """``bench/floor_app.py`` in a uvicorn of its own, on a free port, killed by PID when done."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "bench.floor_app:app", "--port", str(self.port)),
                *("--log-level", "warning", "--no-access-log"),
            ],
            cwd=Path(__file__).resolve().parents[1],
        )

    async def ready(self, probe: Callable[[], Awaitable[None]]) -> None:
        """Wait until ``probe`` (a request to it) succeeds."""

        async def answered() -> bool:
            try:
                await probe()
            except OSError:
                return False
            return True

        await eventually(answered, within=30, interval=0.1)

    def stop(self) -> None:
        self._process.kill()
        self._process.wait(timeout=10)


@dataclass(frozen=True)
class BenchTenant:
    id: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def bench_tenant(http: httpx.AsyncClient, name: str) -> BenchTenant:
    """A tenant with limits far above any benchmark's rate, and a key of it."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    r = await http.post("/tenants/", json={"name": name}, headers=admin)
    r.raise_for_status()
    tenant_id: str = r.json()["id"]
    r = await http.patch(f"/tenants/{tenant_id}", json={"limits": BENCH_LIMITS}, headers=admin)
    r.raise_for_status()
    r = await http.post(f"/tenants/{tenant_id}/api-keys", json={"name": name}, headers=admin)
    r.raise_for_status()
    return BenchTenant(tenant_id, r.json()["key"])


async def drop_all_of(servers: Servers, settings: Settings) -> None:
    """What a deployment in ``settings.topic_prefix`` leaves: its topics and database, the worker's
    and projector's consumer groups, and its Redis keys (best effort on each)."""
    namespace = settings.topic_prefix
    await drop_namespace(servers, namespace)
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka, request_timeout_ms=5000)
    try:
        await admin.start()
        for role in ("worker", "projector"):
            group = settings.group(role)
            with contextlib.suppress(Exception):
                node = await admin.find_coordinator(group)
                # aiokafka's admin client has no delete_consumer_groups: the request it would send.
                await admin._send_request(DeleteGroupsRequest([group]), node)
    finally:
        await admin.close()
    redis = Redis.from_url(servers.redis)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{namespace}:*", count=500)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()
