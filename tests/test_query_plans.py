"""Every query shape Phony makes (phony/projections/queries.py) is served by an index: the store is
asked to explain each one, as a find with its sort and as a count, and a collection scan fails."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from phony.projections import queries
from phony.projections.documents import RECORDINGS, ensure_all_indexes
from tests.support import Servers

Doc = dict[str, Any]

# One example of each shape, with the arguments its callers pass.
EXAMPLES: dict[str, list[queries.Query]] = {
    "by_id": [queries.by_id("calls", "CA1", "last_seq")],
    "tenant": [queries.tenant("tenant_1")],
    "tenants": [queries.tenants()],
    "key_by_hash": [queries.key_by_hash("f" * 64)],
    "key": [queries.key("key_1")],
    "keys_of": [queries.keys_of("tenant_1")],
    "agent": [queries.agent("agent_1")],
    "agent_tally": [queries.agent_tally("tenant_1")],
    "agents_created_since": [queries.agents_created_since("tenant_1", datetime(2026, 12, 1, tzinfo=UTC))],
    "agents_of": [
        queries.agents_of("tenant_1").ranks(1, 50),
        queries.agents_of("tenant_1", True).ranks(11, 13),
    ],
    "agents_with_number": [queries.agents_with_number("+15550100")],
    "call": [queries.call("CA1", "tenant_id")],
    "calls_of": [
        queries.calls_of("tenant_1", status=status, agent_id=agent, direction=direction)
        for status in (None, "completed")
        for agent in (None, "agent_1")
        for direction in (None, "inbound")
    ]
    + [
        queries.calls_of("tenant_1", created_since=datetime(2026, 12, 1, tzinfo=UTC)),
        queries.calls_of(
            "tenant_1",
            status="completed",
            created_since=datetime(2026, 12, 1, tzinfo=UTC),
            created_before=datetime(2026, 12, 2, tzinfo=UTC),
        ),
    ],
    "live_calls": [queries.live_calls()],
    "call_events": [queries.call_events("CA1", 0, 40), queries.call_events("CA1", 10, 12)],
    "stored_event": [queries.stored_event("CA1", 3)],
    "recording": [queries.recording("CA1:ai:resp_1")],
    "recordings_of": [queries.recordings_of("CA1")],
}


def _shapes() -> Iterator[str]:
    for name, fn in inspect.getmembers(queries, inspect.isfunction):
        if fn.__module__ == queries.__name__ and inspect.signature(fn).return_annotation in (
            "Query",
            queries.Query,
        ):
            yield name


def _stages(plan: Any) -> Iterator[str]:
    """Every ``stage`` named anywhere in an explain answer's plan tree."""
    if isinstance(plan, dict):
        for key, value in plan.items():
            if key == "stage" and isinstance(value, str):
                yield value
            else:
                yield from _stages(value)
    elif isinstance(plan, list):
        for item in plan:
            yield from _stages(item)


@pytest.fixture(scope="module")
async def store(servers: Servers) -> AsyncIterator[AsyncDatabase[Doc]]:
    """A database of its own with Phony's indexes and a few documents in each collection."""
    client: AsyncMongoClient[Doc] = AsyncMongoClient(servers.mongodb, tz_aware=True)
    database = client[f"plans{uuid.uuid4().hex[:8]}"]
    now = datetime.now(UTC)
    await ensure_all_indexes(database)
    for i in range(20):
        tenant = f"tenant_{i % 3}"
        await database["tenants"].insert_one({"_id": f"tenant_{i}", "name": "t", "created_at": now})
        await database["api_keys"].insert_one(
            {"_id": f"key_{i}", "tenant_id": tenant, "key_hash": f"{i:064x}", "created_at": now}
        )
        await database["agents"].insert_one(
            {
                "_id": f"agent_{i}",
                "tenant_id": tenant,
                "deleted": False,
                "is_active": True,
                "created_at": now,
                "rank": i + 1,
                "phone_numbers": [f"+1555010{i}"],
            }
        )
        await database["agent_tallies"].update_one({"_id": tenant}, {"$inc": {"ranked": 1}}, upsert=True)
        await database["calls"].insert_one(
            {"_id": f"CA{i}", "tenant_id": tenant, "status": "completed", "created_at": now, "ended_at": None}
        )
        await database["events"].insert_one({"_id": f"CA1:{i + 1:012d}", "aggregate_id": "CA1", "seq": i + 1})
        await database["calls"].update_one(
            {"_id": f"CA{i}"}, {"$set": {"agent_id": "agent_1", "direction": "inbound"}}
        )
        await database[RECORDINGS].insert_one({"_id": f"CA{i}:caller:000000", "call_sid": f"CA{i}"})
    yield database
    await client.drop_database(database.name)
    await client.close()


def test_every_query_shape_has_an_example() -> None:
    assert sorted(_shapes()) == sorted(EXAMPLES)


@pytest.mark.parametrize("shape", sorted(EXAMPLES))
async def test_the_query_shape_is_served_by_an_index(store: AsyncDatabase[Doc], shape: str) -> None:
    for query in EXAMPLES[shape]:
        find: Doc = {"find": query.collection, "filter": dict(query.filter), "limit": 10}
        if query.sort:
            find["sort"] = dict(query.sort)
        for command in (find, {"count": query.collection, "query": dict(query.filter)}):
            answer = await store.command("explain", command, verbosity="queryPlanner")
            stages = list(_stages(answer.get("queryPlanner", answer)))
            assert stages, f"{shape}: no plan in {answer}"
            assert "COLLSCAN" not in stages, f"{shape}: {command} scans the collection: {stages}"
