"""The event log (SPEC §5, DESIGN): envelope, gapless per-aggregate seq, topics, replay, upcasting,
and at-least-once delivery that never applies a command or an event twice."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from aiokafka.admin import AIOKafkaAdminClient

from phony.commands.agents import UpdateAgent
from phony.config import Settings
from phony.events import EVENT_CLASSES, decode, payload_of
from phony.events.agents import AgentCreated
from phony.events.log import Topics, make_broker, read_log
from phony.events.upcasters import UPCASTERS
from phony.projections.documents import mongo_client
from tests.support import TenantHandle, agent_body

FIXTURES = Path(__file__).parent / "fixtures"


async def test_topics_are_created_with_the_configured_partitions(phony: object, settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        topics = Topics.of(settings)
        described = await admin.describe_topics([topics.commands, topics.audio, topics.events])
    finally:
        await admin.close()
    assert {t["topic"]: len(t["partitions"]) for t in described} == {
        topics.commands: 4,
        topics.audio: 4,
        topics.events: 4,
    }


async def test_every_event_carries_the_envelope(tenant: TenantHandle, settings: Settings) -> None:
    agent = (await tenant.client.post("/agents/", json=agent_body())).json()
    [logged] = [e async for e in read_log(settings, aggregate_id=agent["id"])]
    wire = json.loads(logged.event.to_json())
    assert {"id", "type", "version", "agent_id", "tenant_id", "seq", "timestamp", "data"} <= wire.keys()
    assert (wire["type"], wire["version"], wire["seq"]) == ("agent.created", 2, 1)


async def test_seq_has_no_gaps_or_duplicates_per_aggregate(
    admin: httpx.AsyncClient, tenant: TenantHandle, settings: Settings
) -> None:
    agents = [(await tenant.client.post("/agents/", json=agent_body(name=f"n{i}"))).json() for i in range(3)]
    for i, agent in enumerate(agents):
        for j in range(i + 2):
            await tenant.client.patch(f"/agents/{agent['id']}", json={"name": f"n{i}-{j}"})
    await admin.patch(f"/tenants/{tenant.id}", json={"name": "renamed"})
    seqs: dict[str, list[int]] = {}
    async for logged in read_log(settings):
        seqs.setdefault(logged.event.aggregate_id, []).append(logged.event.seq)
    assert seqs, "the log is empty"
    for aggregate, numbers in seqs.items():
        assert numbers == list(range(1, len(numbers) + 1)), aggregate
    assert [len(seqs[a["id"]]) for a in agents] == [3, 4, 5]


async def test_log_reader_replays_from_an_offset(tenant: TenantHandle, settings: Settings) -> None:
    agent = (await tenant.client.post("/agents/", json=agent_body())).json()
    await tenant.client.patch(f"/agents/{agent['id']}", json={"name": "second"})
    [first, second] = [e async for e in read_log(settings, aggregate_id=agent["id"])]
    later = [
        e.event.seq
        async for e in read_log(
            settings, partitions=[first.partition], from_offsets={first.partition: second.offset}
        )
        if e.event.aggregate_id == agent["id"]
    ]
    assert later == [2]


def test_v1_agent_created_is_upcast_to_the_current_version() -> None:
    raw = (FIXTURES / "agent_created_v1.json").read_bytes()
    envelope = decode(raw)
    assert envelope.version == AgentCreated.VERSION == 2
    payload = payload_of(envelope)
    assert isinstance(payload, AgentCreated)
    assert payload.settings.name == "Customer Service Bot"
    assert payload.settings.transfer_allowlist == []
    assert payload.settings.require_approval is False


def test_every_old_event_version_has_an_upcaster() -> None:
    for cls in EVENT_CLASSES:
        for version in range(1, cls.VERSION):
            assert (cls.TYPE, version) in UPCASTERS, f"{cls.TYPE} v{version}"


async def test_redelivered_command_is_not_applied_twice(tenant: TenantHandle, settings: Settings) -> None:
    agent = (await tenant.client.post("/agents/", json=agent_body(name="start"))).json()
    first = UpdateAgent(tenant_id=tenant.id, aggregate_id=agent["id"], changes={"name": "first"})
    broker = make_broker(settings, "test-redelivery")
    await broker.start()
    try:
        topic = Topics.of(settings).commands
        await broker.publish(first.model_dump_json().encode(), topic, key=agent["id"].encode())
        await tenant.client.patch(f"/agents/{agent['id']}", json={"name": "second"})
        # The same command again, as a consumer that crashed before committing would see it.
        await broker.publish(first.model_dump_json().encode(), topic, key=agent["id"].encode())
        await tenant.client.patch(f"/agents/{agent['id']}", json={"voice": "sage"})
    finally:
        await broker.stop()
    current = (await tenant.client.get(f"/agents/{agent['id']}")).json()
    assert (current["name"], current["voice"]) == ("second", "sage")
    types = [e.event.data.get("changed") async for e in read_log(settings, aggregate_id=agent["id"])]
    assert types == [None, ["name"], ["name"], ["voice"]]


async def test_redelivered_event_is_not_projected_twice(tenant: TenantHandle, settings: Settings) -> None:
    agent = (await tenant.client.post("/agents/", json=agent_body(name="one"))).json()
    await tenant.client.patch(f"/agents/{agent['id']}", json={"name": "two"})
    stale = await anext(e.event async for e in read_log(settings, aggregate_id=agent["id"]))
    broker = make_broker(settings, "test-redelivery")
    await broker.start()
    try:
        await broker.publish(stale.to_json(), Topics.of(settings).events, key=agent["id"].encode())
    finally:
        await broker.stop()
    # Same key, same partition: once this later write is projected, the redelivery was handled.
    await tenant.client.patch(f"/agents/{agent['id']}", json={"voice": "coral"})
    current = (await tenant.client.get(f"/agents/{agent['id']}")).json()
    assert (current["name"], current["voice"]) == ("two", "coral")
    client = mongo_client(settings)
    try:
        stored = await client[settings.mongodb_db]["events"].count_documents({"aggregate_id": agent["id"]})
    finally:
        await client.close()
    assert stored == 3
