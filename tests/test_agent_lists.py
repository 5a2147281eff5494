"""A tenant's agent list is paged by ranges of ranks (``queries.RankedList``), which hold the agents
in (created_at, _id) order whatever order their creations are projected in, with totals from the
tenant's tally that never disagree with the documents. Driven through the projection code on the real
store; the REST list over it is in test_agents.py. A batch's creations of one tenant are applied
together when they all come after its last agent (``Projector.handle_created``), else one by one."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from phony.config import Settings
from phony.events import EventEnvelope, new_id
from phony.events.agents import AgentCreated, AgentDeleted, AgentSettings, AgentUpdated
from phony.events.codec import envelope_for
from phony.projections import queries
from phony.projections.projector import Projector, SeqMemory, apply
from tests.call_events import bound_read_models

START = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[None]:
    """Read models in a database of their own: these events are not on the session's log, and a
    rebuild of the session's read models must not be asked to find them."""
    own = settings.model_copy(update={"mongodb_db": f"lists_{uuid.uuid4().hex[:8]}"})
    async with bound_read_models(own):
        yield
        await queries.read_models().client.drop_database(own.mongodb_db)


def settings_of(name: str, is_active: bool = True) -> AgentSettings:
    return AgentSettings(name=name, system_prompt="p", voice="alloy", model="m", is_active=is_active)


class Tenant:
    """A tenant of its own and the agent events made for it."""

    def __init__(self) -> None:
        self.id = new_id("tenant")
        self.seqs: dict[str, int] = {}

    def event(self, agent_id: str, payload: AgentCreated | AgentUpdated | AgentDeleted) -> EventEnvelope:
        self.seqs[agent_id] = self.seqs.get(agent_id, 0) + 1
        return envelope_for(payload, aggregate_id=agent_id, tenant_id=self.id, seq=self.seqs[agent_id])

    def created(self, n: int, is_active: bool = True) -> list[EventEnvelope]:
        """``n`` creations a second apart (ids in reverse, so ``_id`` alone would sort them wrong)."""
        events = []
        for i in range(n):
            agent_id = f"agent_{n - i:04d}_{uuid.uuid4().hex[:6]}"
            event = self.event(agent_id, AgentCreated(settings=settings_of(f"a{i}", is_active)))
            events.append(event.model_copy(update={"timestamp": START + timedelta(seconds=i)}))
        return events

    def updated(self, created: EventEnvelope, is_active: bool) -> EventEnvelope:
        settings = settings_of("changed", is_active)
        return self.event(created.aggregate_id, AgentUpdated(settings=settings, changed=["is_active"]))

    def deleted(self, created: EventEnvelope) -> EventEnvelope:
        return self.event(created.aggregate_id, AgentDeleted())


async def listed(tenant: Tenant, is_active: bool | None = None, limit: int = 100) -> tuple[int, list[str]]:
    """The list's total and every id in it, read page by page."""
    agents = await queries.agent_list(tenant.id, is_active)
    ids: list[str] = []
    while page := await agents.page(len(ids), limit):
        ids += [doc["_id"] for doc in page]
    return agents.visible, ids


def ids(events: list[EventEnvelope]) -> list[str]:
    return [e.aggregate_id for e in events]


async def test_agents_are_listed_oldest_first_whatever_order_their_creations_are_projected_in(
    store: None,
) -> None:
    tenant = Tenant()
    created = tenant.created(40)
    shuffled = random.Random(7).sample(created, len(created))
    memory = SeqMemory()
    for event in shuffled:
        assert await apply(event, memory)
    assert await listed(tenant) == (40, ids(created))
    ranks = [(await queries.agent(e.aggregate_id).first() or {})["rank"] for e in created]
    assert ranks == list(range(1, 41))


async def test_creations_projected_at_once_get_distinct_ranks_in_creation_order(store: None) -> None:
    tenant = Tenant()
    created = tenant.created(24)
    # Separate memories: as when the tenant's agents are on partitions projected side by side.
    assert all(await asyncio.gather(*(apply(e, SeqMemory()) for e in reversed(created))))
    assert await listed(tenant) == (24, ids(created))


async def test_a_creation_applied_again_changes_neither_the_list_nor_its_total(store: None) -> None:
    tenant = Tenant()
    created = tenant.created(3)
    for event in created:
        await apply(event, SeqMemory())
    assert not await apply(created[1], SeqMemory())  # a redelivery the memory does not know
    agents = await queries.agent_list(tenant.id)
    assert (agents.ranked, agents.visible) == (3, 3)
    assert await listed(tenant) == (3, ids(created))


async def test_the_tenants_last_creation_applied_again_changes_nothing(store: None) -> None:
    tenant = Tenant()
    created = tenant.created(3)
    for event in created:
        await apply(event, SeqMemory())
    assert not await apply(created[-1], SeqMemory())  # the one the tally says is the last
    assert await listed(tenant) == (3, ids(created))


async def test_deleted_and_deactivated_agents_leave_the_lists_they_no_longer_belong_to(store: None) -> None:
    tenant = Tenant()
    created = tenant.created(30)
    memory = SeqMemory()
    for event in created:
        await apply(event, memory)
    gone, off = created[0:30:3], created[1:30:3]
    for event in gone:
        await apply(tenant.deleted(event), memory)
    for event in off:
        await apply(tenant.updated(event, is_active=False), memory)
    await apply(tenant.updated(off[0], is_active=False), memory)  # no change: counted once
    await apply(tenant.updated(off[-1], is_active=True), memory)  # back on
    remaining = [e for e in created if e not in gone]
    inactive = off[:-1]
    active = [e for e in remaining if e not in inactive]
    assert await listed(tenant, None, limit=7) == (20, ids(remaining))
    assert await listed(tenant, True, limit=3) == (len(active), ids(active))
    assert await listed(tenant, False, limit=4) == (len(inactive), ids(inactive))


async def test_every_page_of_a_sparse_list_is_the_slice_of_the_whole_list(store: None) -> None:
    tenant = Tenant()
    created = tenant.created(60)
    memory = SeqMemory()
    for event in created:
        await apply(event, memory)
    for event in created[:50]:  # the oldest 50 deleted: the first ranges hold nothing
        await apply(tenant.deleted(event), memory)
    agents = await queries.agent_list(tenant.id)
    expected = ids(created[50:])
    for offset in range(0, 12):
        for limit in (1, 3, 10):
            page = await agents.page(offset, limit)
            assert [doc["_id"] for doc in page] == expected[offset : offset + limit], (offset, limit)


async def test_a_tenant_without_agents_lists_none(store: None) -> None:
    assert await listed(Tenant()) == (0, [])


@pytest.fixture
def projector(settings: Settings, redis: Redis) -> Projector:
    return Projector(settings, redis)


async def test_a_batchs_creations_of_one_tenant_are_applied_together_in_creation_order(
    store: None, projector: Projector
) -> None:
    tenant = Tenant()
    first, *rest = tenant.created(20)
    await apply(first, SeqMemory())
    shuffled = random.Random(3).sample(rest, len(rest))
    assert await projector.handle_created(shuffled) == shuffled
    assert await listed(tenant) == (20, ids([first, *rest]))
    agents = await queries.agent_list(tenant.id)
    assert [d["rank"] for d in await agents.page(0, 100)] == list(range(1, 21))


async def test_creations_not_all_after_the_tenants_last_agent_are_left_to_be_applied_one_by_one(
    store: None, projector: Projector
) -> None:
    tenant = Tenant()
    created = tenant.created(10)
    await apply(created[5], SeqMemory())
    left = created[:5] + created[6:]
    assert await projector.handle_created(left) == []
    assert await listed(tenant) == (1, [created[5].aggregate_id])
    for event in left:
        await apply(event, SeqMemory())
    assert await listed(tenant) == (10, ids(created))


async def test_creations_applied_before_are_left_alone_by_the_batch(
    store: None, projector: Projector, settings: Settings, redis: Redis
) -> None:
    tenant = Tenant()
    first, *rest = tenant.created(6)
    await apply(first, SeqMemory())
    assert await projector.handle_created(rest[:3]) == rest[:3]
    # Redelivered with two new ones, to a projector that forgot them (a restart): nothing doubles.
    again = Projector(settings, redis)
    assert await again.handle_created(rest) == []
    for event in rest:
        await apply(event, SeqMemory())
    assert await listed(tenant) == (6, ids([first, *rest]))
