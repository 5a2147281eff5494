"""Session fixtures: the real servers, one running Phony for the session, per-test tenants."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from phony.config import Settings
from phony.sim.realtime import RealtimeSim
from phony.sim.twilio import TwilioSim
from tests.js_sdk import install_js_sdk
from tests.support import (
    ADMIN_KEY,
    ROOT,
    PhonyProcess,
    Servers,
    SimEnv,
    TenantHandle,
    drop_namespace,
    namespace_settings,
    phony_env,
)


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """Kafka, MongoDB API and Redis: given by PHONY_* URLs, else testcontainers where a Docker daemon
    answers and PHONY_TEST_DOCKER=1, else the project's own services (started if needed)."""
    given = {k: os.environ.get(f"PHONY_{k.upper()}") for k in ("kafka_bootstrap", "mongodb_url", "redis_url")}
    if all(given.values()):
        yield Servers(given["kafka_bootstrap"] or "", given["mongodb_url"] or "", given["redis_url"] or "")
        return
    if os.environ.get("PHONY_TEST_DOCKER") == "1" and _docker_answers():
        from tests.containers import container_servers

        with container_servers() as found:
            yield found
        return
    subprocess.run([str(ROOT / "scripts" / "services.sh"), "up"], check=True)
    defaults = Settings(_env_file=None)
    yield Servers(defaults.kafka_bootstrap, defaults.mongodb_url, defaults.redis_url)


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("phony-logs")


@pytest.fixture(scope="session")
def namespace(servers: Servers) -> Iterator[str]:
    """Topics and database of this session's Phony (deleted at the end of the session)."""
    space = f"t{uuid.uuid4().hex[:10]}"
    yield space
    asyncio.run(drop_namespace(servers, space))


@pytest.fixture(scope="session")
def settings(servers: Servers, namespace: str) -> Settings:
    """Settings equal to the session Phony's, for reading its log and read models from tests."""
    env = phony_env(servers, namespace)
    return namespace_settings(servers, namespace, int(env["PHONY_PARTITIONS"]))


@pytest.fixture(scope="session")
async def twilio_sim() -> AsyncIterator[TwilioSim]:
    """The fake Twilio, in the test process so tests can see what it saw."""
    async with TwilioSim() as sim:
        yield sim


@pytest.fixture(scope="session")
async def model_sim(twilio_sim: TwilioSim) -> AsyncIterator[RealtimeSim]:
    """The fake OpenAI Realtime server; it knows the scripts of the simulated callers."""
    async with RealtimeSim(scenario_lookup=twilio_sim.scenario_of_caller) as sim:
        yield sim


@pytest.fixture(scope="session")
def sims(twilio_sim: TwilioSim, model_sim: RealtimeSim) -> SimEnv:
    return SimEnv(
        twilio_account_sid=twilio_sim.account_sid,
        twilio_auth_token=twilio_sim.auth_token,
        twilio_api_base=twilio_sim.base_url,
        openai_api_key=model_sim.api_key,
        openai_base_url=model_sim.base_url,
        openai_websocket_base_url=model_sim.websocket_base_url,
    )


@pytest.fixture(scope="session")
async def phony(servers: Servers, namespace: str, log_dir: Path, sims: SimEnv) -> AsyncIterator[PhonyProcess]:
    """One ``phony serve`` (edge, worker, projector) for the whole session, on the simulators."""
    process = PhonyProcess("serve", phony_env(servers, namespace, sims))
    process.start(log_dir)
    try:
        await process.ready()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
async def js_sdk() -> None:
    """The JavaScript SDK's dependencies, installed once (``npm ci``) for every test that runs it."""
    await install_js_sdk()


@pytest.fixture(scope="session")
async def admin(phony: PhonyProcess) -> AsyncIterator[httpx.AsyncClient]:
    """A client with the operator key."""
    async with httpx.AsyncClient(
        base_url=phony.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30
    ) as client:
        yield client


async def new_tenant(admin: httpx.AsyncClient, name: str = "acme") -> TenantHandle:
    """Create a tenant and a key through the operator API."""
    tenant = await admin.post("/tenants/", json={"name": name})
    assert tenant.status_code == 201, tenant.text
    key = await admin.post(f"/tenants/{tenant.json()['id']}/api-keys", json={"name": "tests"})
    assert key.status_code == 201, key.text
    client = httpx.AsyncClient(
        base_url=str(admin.base_url), headers={"Authorization": f"Bearer {key.json()['key']}"}, timeout=30
    )
    return TenantHandle(tenant.json()["id"], key.json()["key"], key.json()["id"], client)


@pytest.fixture
async def tenant(admin: httpx.AsyncClient) -> AsyncIterator[TenantHandle]:
    """A fresh tenant for one test."""
    handle = await new_tenant(admin)
    async with handle.client:
        yield handle


@pytest.fixture
async def other_tenant(admin: httpx.AsyncClient) -> AsyncIterator[TenantHandle]:
    handle = await new_tenant(admin, "globex")
    async with handle.client:
        yield handle


@pytest.fixture
async def second_edge(
    servers: Servers, namespace: str, sims: SimEnv, log_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """Another edge process of the session's deployment."""
    edge = PhonyProcess("edge", phony_env(servers, namespace, sims))
    edge.start(log_dir)
    try:
        await edge.ready()
        async with httpx.AsyncClient(base_url=edge.url, timeout=30) as client:
            yield client
    finally:
        edge.stop()


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    """A client of the session's Redis."""
    client = Redis.from_url(settings.redis_url)
    try:
        yield client
    finally:
        await client.aclose()
