"""An event the read-model store refuses is parked, and the projection goes on past it.

The store here really refuses: a validator on the ``agents`` collection (as an operator's schema rule,
a quota or a size limit would) rejects one agent name with error 121. It runs on a Phony of its own
(its namespace, the session's servers), so what it leaves unprojected stays out of the session's read
models (which a rebuild test compares with the log).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pymongo.errors import OperationFailure

from phony.config import Settings
from phony.events.log import Topics, partition_for, read_log
from phony.projections.documents import mongo_client
from phony.projections.parking import ParkedEvent, read_parked, refused_by_store
from tests.conftest import new_tenant
from tests.support import (
    ADMIN_KEY,
    PhonyProcess,
    SecantusServer,
    Servers,
    SimEnv,
    TenantHandle,
    agent_body,
    drop_namespace,
    eventually,
    namespace_settings,
    phony_env,
    unique_number,
)
from tests.test_cli import log_env, ok, phony_cli
from tests.test_metrics import has, scrape, total

REFUSED_NAME = "Refused by the store"


@dataclass(frozen=True)
class Apart:
    """A ``phony serve`` of this module's own, and its settings."""

    phony: PhonyProcess
    settings: Settings


@pytest.fixture(scope="module")
async def apart(servers: Servers, sims: SimEnv, log_dir: Path) -> AsyncIterator[Apart]:
    namespace = f"park{uuid.uuid4().hex[:8]}"
    env = phony_env(servers, namespace, sims)
    phony = PhonyProcess("serve", env)
    phony.start(log_dir)
    try:
        await phony.ready()
        yield Apart(phony, namespace_settings(servers, namespace, int(env["PHONY_PARTITIONS"])))
    finally:
        phony.stop()
        await drop_namespace(servers, namespace)


@pytest.fixture
async def tenant(apart: Apart) -> AsyncIterator[TenantHandle]:
    """A fresh tenant of :func:`apart`'s Phony."""
    async with httpx.AsyncClient(
        base_url=apart.phony.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30
    ) as admin:
        handle = await new_tenant(admin)
    async with handle.client:
        yield handle


@pytest.fixture
async def refusing_store(apart: Apart) -> AsyncIterator[None]:
    """:func:`apart`'s agents collection refuses agents named :data:`REFUSED_NAME` during the test."""
    client = mongo_client(apart.settings)
    db = client[apart.settings.mongodb_db]
    try:
        await db.command("collMod", "agents", validator={"name": {"$ne": REFUSED_NAME}})
        yield
    finally:
        await db.command("collMod", "agents", validator={})
        await client.close()


async def parked_of(settings: Settings, aggregate_id: str) -> list[ParkedEvent]:
    return [p async for p in read_parked(settings) if p.aggregate_id == aggregate_id]


async def create_refused(tenant: TenantHandle) -> httpx.Response:
    body = agent_body(name=REFUSED_NAME, phone_numbers=[unique_number()])
    return await tenant.client.post("/agents/", json=body)


async def refused_agent(tenant: TenantHandle) -> str:
    """The id of an agent whose creation the store refused (its event parked)."""
    agent_id: str = (await create_refused(tenant)).json()["error"]["details"]["id"]
    return agent_id


async def test_a_create_whose_event_the_store_refuses_answers_503_in_the_envelope(
    tenant: TenantHandle, refusing_store: None
) -> None:
    r = await create_refused(tenant)
    assert r.status_code == 503, r.text
    error = r.json()["error"]
    assert error["code"] == "UNAVAILABLE"
    assert "parked" in error["message"]
    assert error["details"]["id"].startswith("agent_")
    assert (await tenant.client.get(f"/agents/{error['details']['id']}")).status_code == 404


async def test_the_refused_event_is_parked_once_with_its_place_on_the_log_and_the_stores_reason(
    tenant: TenantHandle, apart: Apart, refusing_store: None
) -> None:
    settings = apart.settings
    agent_id = await refused_agent(tenant)
    [entry] = await parked_of(settings, agent_id)
    assert (entry.event_type, entry.seq, entry.attempts) == ("agent.created", 1, settings.projector_attempts)
    assert "121" in entry.reason
    assert "Document failed validation" in entry.reason
    # The event is still on the events topic, once, where the parked record says.
    logged = [e async for e in read_log(settings, aggregate_id=agent_id)]
    assert [(e.event.type, e.partition, e.offset) for e in logged] == [
        ("agent.created", entry.partition, entry.offset)
    ]
    assert entry.event["aggregate_id"] == agent_id
    assert entry.event["data"]["settings"]["name"] == REFUSED_NAME


async def test_the_projection_goes_on_past_a_parked_event(
    tenant: TenantHandle, apart: Apart, refusing_store: None
) -> None:
    settings = apart.settings
    agent_id = await refused_agent(tenant)
    [entry] = await parked_of(settings, agent_id)
    # Agents until one is keyed to the parked event's partition (1 in 4 is, on this Phony's 4
    # partitions; 200 all miss it with a chance of 1e-25): its event comes after the parked one there,
    # and is projected.
    for _ in range(200):
        created = await tenant.client.post("/agents/", json=agent_body(phone_numbers=[unique_number()]))
        assert created.status_code == 201, created.text
        if partition_for(created.json()["id"], settings.partitions) == entry.partition:
            break
    else:
        pytest.fail(f"no agent keyed to partition {entry.partition} in 200")
    assert (await tenant.client.get(f"/agents/{created.json()['id']}")).status_code == 200
    assert len(await parked_of(settings, agent_id)) == 1


async def test_parked_events_are_counted_in_the_metrics(
    tenant: TenantHandle, apart: Apart, refusing_store: None
) -> None:
    phony = apart.phony
    name, labels = "phony_projector_parked_total", {"type": "agent.created"}
    before = total(await scrape(phony), name, **labels)
    await create_refused(tenant)
    after = await eventually(lambda: scrape(phony), has(name, before + 1, **labels))
    assert total(after, name, **labels) == before + 1


async def test_phony_parked_lists_the_parked_events(
    tenant: TenantHandle, apart: Apart, refusing_store: None
) -> None:
    settings = apart.settings
    agent_id = await refused_agent(tenant)
    listed = ok(await phony_cli("parked", "--json", env=log_env(settings)))
    mine = [ParkedEvent.model_validate_json(line) for line in listed.lines if agent_id in line]
    assert [(p.aggregate_id, p.event_type) for p in mine] == [(agent_id, "agent.created")]
    table = ok(await phony_cli("parked", env=log_env(settings)))
    assert agent_id in table.out
    assert "Document failed validation" in table.out


async def test_an_event_parked_twice_is_listed_once(
    tenant: TenantHandle, apart: Apart, refusing_store: None
) -> None:
    settings = apart.settings
    agent_id = await refused_agent(tenant)
    [entry] = await parked_of(settings, agent_id)
    # As a batch redelivered after parking one of its events writes it again.
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        again = entry.model_copy(update={"parked_at": entry.parked_at + timedelta(seconds=1)})
        await producer.send_and_wait(
            Topics.of(settings).parked, again.model_dump_json().encode(), key=agent_id.encode()
        )
    finally:
        await producer.stop()
    assert await parked_of(settings, agent_id) == [entry]


@pytest.mark.parametrize(
    ("error", "refused"),
    [
        (OperationFailure("Document failed validation", code=121), True),
        (OperationFailure("quota exceeded", code=12501), True),
        (OperationFailure("write conflict", 112, {"errorLabels": ["TransientTransactionError"]}), False),
        (OperationFailure("not primary", 10107, {"errorLabels": ["RetryableWriteError"]}), False),
        (ConnectionResetError("store went away"), False),
    ],
)
def test_only_what_the_store_refuses_is_parked_not_what_may_pass(error: Exception, refused: bool) -> None:
    assert refused_by_store(error) is refused


@pytest.fixture
def own_store(tmp_path: Path) -> Iterator[SecantusServer]:
    store = SecantusServer(tmp_path / "store")
    store.start()
    yield store
    store.kill()


@dataclass
class OnOwnStore:
    """A ``phony serve`` in a namespace of its own on the test's own store, and a tenant of it."""

    phony: PhonyProcess
    settings: Settings
    admin: httpx.AsyncClient
    tenant: TenantHandle

    async def create(self) -> httpx.Response:
        return await self.tenant.client.post("/agents/", json=agent_body(phone_numbers=[unique_number()]))

    async def store_seen_down(self) -> None:
        await eventually(
            lambda: self.admin.get("/healthz"),
            lambda r: r.json()["dependencies"]["mongodb"] == "down",
            within=30,
        )


@pytest.fixture
async def on_own_store(
    servers: Servers, sims: SimEnv, log_dir: Path, own_store: SecantusServer
) -> AsyncIterator[OnOwnStore]:
    namespace = f"park{uuid.uuid4().hex[:8]}"
    # A wait for a result longer than an outage, so a create answers 201 once the store is back.
    env = phony_env(
        servers, namespace, sims, PHONY_MONGODB_URL=own_store.url, PHONY_READ_YOUR_WRITES_TIMEOUT_S="90"
    )
    phony = PhonyProcess("serve", env)
    phony.start(log_dir)
    try:
        await phony.ready()
        async with httpx.AsyncClient(
            base_url=phony.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=120
        ) as admin:
            tenant = await new_tenant(admin)
            async with tenant.client:
                settings = namespace_settings(servers, namespace, int(env["PHONY_PARTITIONS"]))
                yield OnOwnStore(phony, settings, admin, tenant)
    finally:
        phony.stop()
        await drop_namespace(servers, namespace)


async def test_read_models_the_store_acknowledged_survive_its_sigkill(
    on_own_store: OnOwnStore, own_store: SecantusServer
) -> None:
    created = [(await on_own_store.create()).json()["id"] for _ in range(3)]
    own_store.kill()
    own_store.start()
    client = on_own_store.tenant.client
    listed = await eventually(lambda: client.get("/agents/"), lambda r: r.status_code == 200, within=60)
    assert sorted(a["id"] for a in listed.json()["agents"]) == sorted(created)
    assert listed.json()["total"] == 3


async def test_a_store_out_of_reach_is_waited_for_and_nothing_is_parked(
    on_own_store: OnOwnStore, own_store: SecantusServer
) -> None:
    # The edge remembers the key once it has been used (the store is not asked again while it is down).
    assert (await on_own_store.create()).status_code == 201
    own_store.kill()
    await on_own_store.store_seen_down()
    during = asyncio.create_task(on_own_store.create())
    # The projector tried the event and failed for want of the store, then tries again.
    await eventually(
        lambda: asyncio.to_thread(on_own_store.phony.tail, 2000),
        lambda tail: "ServerSelectionTimeoutError" in tail,
        within=60,
    )
    own_store.start()
    answered = await during
    assert answered.status_code == 201, answered.text
    agent_id = answered.json()["id"]
    assert (await on_own_store.tenant.client.get(f"/agents/{agent_id}")).status_code == 200
    settings = on_own_store.settings
    assert [e.event.type async for e in read_log(settings, aggregate_id=agent_id)] == ["agent.created"]
    assert [p async for p in read_parked(settings)] == []
