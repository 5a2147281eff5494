"""Snapshots of a partition's states: a restore reads the latest one and the events after it, and ends
with the states a fold of the whole log gives; only the partition's owner can write one; ended calls
are stored, and come back, as the worker's small summaries."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from openai import AsyncOpenAI
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

import phony.workers.store as store_module
from phony.config import Settings
from phony.events import AggregateType, EventData, EventEnvelope, envelope_for, new_id, utcnow
from phony.events.agents import AgentDeleted
from phony.events.log import LoggedEvent, ensure_topics, make_broker, read_log
from phony.events.tenants import TenantLimits, TenantUpdated
from phony.metrics import Metrics
from phony.workers import snapshots
from phony.workers.calls.actor import ActorDeps
from phony.workers.calls.executor import ExecutorDeps
from phony.workers.calls.state import CallState, fold_call
from phony.workers.calls.telephony import Telephony
from phony.workers.calls.worker import CallWorker, PlaceDeps, ended_summary
from phony.workers.decisions import AggregateState
from phony.workers.playback import PlaybackSender
from phony.workers.snapshot_topic import read_latest
from phony.workers.snapshots import (
    STATE_TYPES,
    Snapshot,
    decode_state,
    read_snapshot,
    state_record,
)
from phony.workers.store import AggregateStore
from phony.workers.writer import EventWriter
from tests.call_events import every_call_event
from tests.call_history import (
    agent_events,
    ended_call,
    ids_on,
    live_call,
    said,
    started,
    tenant_events,
    turns,
)
from tests.support import Servers, drop_namespace, eventually, namespace_settings

P = 0  # the partition under test
PARTITIONS = 2


def new_store(settings: Settings) -> AggregateStore:
    store = AggregateStore(settings)
    store.register("call", CallState, fold_call)
    return store


@pytest.fixture
async def space(servers: Servers) -> AsyncIterator[Settings]:
    """Settings of a namespace of this test's own (its topics deleted afterwards); no snapshot is
    written on its own unless a test sets ``snapshot_every``."""
    namespace = f"snap{uuid.uuid4().hex[:10]}"
    settings = namespace_settings(servers, namespace, PARTITIONS, snapshot_every=1_000_000)
    await ensure_topics(settings)
    yield settings
    await drop_namespace(servers, namespace)


@asynccontextmanager
async def owner(settings: Settings) -> AsyncIterator[tuple[EventWriter, AggregateStore]]:
    """A writer owning partition ``P`` (fencing any before it), with its store restored."""
    store = new_store(settings)
    writer = EventWriter(settings, store)
    await writer.own(P)
    await store.restore(P)
    try:
        yield writer, store
    finally:
        await writer.close()


class History:
    """Aggregates on partition ``P`` and their events, written through an :class:`EventWriter`."""

    def __init__(self, writer: EventWriter, store: AggregateStore) -> None:
        self.writer, self.store = writer, store
        self.tenant = next(ids_on(P, PARTITIONS, "ten_"))
        self.agent = next(ids_on(P, PARTITIONS, "agent_"))
        self._sids = ids_on(P, PARTITIONS, "CA")

    def sid(self) -> str:
        return next(self._sids)

    async def emit(self, aggregate_id: str, payloads: list[EventData], kind: AggregateType = "call") -> None:
        state = self.store.get(kind, aggregate_id)
        await self.writer.emit(
            state, payloads, aggregate_id=aggregate_id, tenant_id=self.tenant, command_id=new_id("cmd")
        )

    async def start(self, ended: int, live: int) -> tuple[list[str], list[str]]:
        """The tenant, its agent, ``ended`` calls that ended and ``live`` calls in progress."""
        await self.emit(self.tenant, tenant_events(), "tenant")
        await self.emit(self.agent, agent_events(), "agent")
        ended_sids = [self.sid() for _ in range(ended)]
        live_sids = [self.sid() for _ in range(live)]
        await asyncio.gather(
            *(self.emit(sid, ended_call(sid, self.agent)) for sid in ended_sids),
            *(self.emit(sid, live_call(sid, self.agent)) for sid in live_sids),
        )
        return ended_sids, live_sids

    def summarize_ended(self) -> None:
        """What the call worker does as each ended call's actor retires."""
        summarize(self.store)


def summarize(store: AggregateStore) -> None:
    for sid, state in store.states(P).items():
        if isinstance(state, CallState) and state.ended:
            store.replace(sid, ended_summary(state))


def summary(state: AggregateState) -> CallState:
    """The summary the call worker keeps of an ended call."""
    assert isinstance(state, CallState)
    assert state.ended
    return ended_summary(state)


async def whole_log(settings: Settings) -> AggregateStore:
    """Partition ``P`` folded from offset 0, as restores did before snapshots."""
    store = new_store(settings)
    async for logged in read_log(settings, partitions=[P]):
        store.fold(logged.event)
    return store


@pytest.fixture
def log_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[int, int] | None, int]]:
    """Each log read the store makes: where it started, and how many events it read."""
    reads: list[tuple[dict[int, int] | None, int]] = []

    async def counted(settings: Settings, **kwargs: Any) -> AsyncIterator[LoggedEvent]:
        read = 0
        try:
            async for logged in read_log(settings, **kwargs):
                read += 1
                yield logged
        finally:
            reads.append((kwargs.get("from_offsets"), read))

    monkeypatch.setattr(store_module, "read_log", counted)
    return reads


# ---------------------------------------------------------------------- the codec


def folded(events: list[EventEnvelope], kind: AggregateType = "call") -> AggregateState:
    store = new_store(Settings(_env_file=None))
    for event in events:
        store.fold(event)
    return store.get(kind, events[0].aggregate_id)


def envelopes(aggregate_id: str, payloads: list[EventData]) -> list[EventEnvelope]:
    start = utcnow()
    return [
        envelope_for(
            payload,
            aggregate_id=aggregate_id,
            tenant_id="ten_1",
            seq=seq,
            command_id=f"cmd_{seq}",
            timestamp=start + timedelta(seconds=seq),
        )
        for seq, payload in enumerate(payloads, start=1)
    ]


def sample_states() -> list[AggregateState]:
    """Folded states in which every field of every state class is off its default in at least one."""
    suspended = TenantUpdated(name="acme ltd", status="suspended", limits=TenantLimits(websockets=3))
    return [
        folded(envelopes("ten_1", [*tenant_events(), suspended]), "tenant"),
        folded(envelopes("agent_1", agent_events()), "agent"),
        folded(envelopes("agent_2", [*agent_events(), AgentDeleted()]), "agent"),
        folded(envelopes("CA1", live_call("CA1", "agent_1"))),  # a reply held, a question open
        folded(every_call_event("ten_1")),  # digits sent, transferred, ended
    ]


def test_every_field_of_a_folded_state_survives_its_snapshot_record() -> None:
    states = sample_states()
    for cls in STATE_TYPES.values():
        empty = cls()
        of_cls = [s for s in states if type(s) is cls]
        untested = [
            f.name
            for f in dataclasses.fields(cls)
            if all(getattr(s, f.name) == getattr(empty, f.name) for s in of_cls)
        ]
        assert not untested, f"no sample {cls.__name__} sets {untested}"
    for state in states:
        _, value, headers = state_record("x", state)
        back = decode_state(value, headers)
        assert type(back) is type(state)
        for f in dataclasses.fields(state):
            mine, theirs = getattr(state, f.name), getattr(back, f.name)
            assert theirs == mine, f.name
            assert type(theirs) is type(mine), f.name  # a tuple stays a tuple, a set a set
        assert back == state


def test_an_ended_call_is_stored_as_a_small_summary() -> None:
    full = folded(every_call_event("ten_1"))
    assert isinstance(full, CallState)
    summary = ended_summary(full)
    _, value, headers = state_record(full.stream_sid or "", summary)
    assert len(value) < 250, value
    assert decode_state(value, headers) == summary


# ---------------------------------------------------------------------- on Kafka


async def test_restore_reads_the_snapshot_and_then_only_the_events_after_it(
    space: Settings, log_reads: list[tuple[dict[int, int] | None, int]]
) -> None:
    async with owner(space) as (writer, store):
        history = History(writer, store)
        ended, live = await history.start(ended=20, live=3)
        history.summarize_ended()
        assert await writer.snapshot(P)
        snapshot = await read_snapshot(space, P)
        assert snapshot is not None
        # The tail: live calls go on (one ends), a new call starts, the tenant changes.
        tail: list[list[EventData]] = [turns(3, 2), [said("Goodbye.")], turns(5, 1)]
        await asyncio.gather(*(history.emit(sid, events) for sid, events in zip(live, tail, strict=True)))
        await history.emit(live[1], ended_call(live[1], history.agent)[-1:])
        newcomer = history.sid()
        await history.emit(newcomer, [started(newcomer, history.agent), *turns(1, 1)])
        await history.emit(history.tenant, tenant_events()[1:], "tenant")
        tail_events = sum(map(len, tail)) + 1 + 4 + 1

    log_reads.clear()
    restored = new_store(space)
    ids = await restored.restore(P)
    assert log_reads == [({P: snapshot.next_offset}, tail_events)]
    assert snapshot.next_offset > 20 * len(ended_call("CA", "a"))  # the snapshot held those events
    reference = await whole_log(space)
    assert ids == sorted(reference.states(P))
    # Ended calls come back as the summaries they were stored as; the call that ended in the tail
    # is whole until the worker summarizes it, as after a restore from the whole log.
    states, full = restored.states(P), reference.states(P)
    assert all(states[sid] == summary(full[sid]) for sid in ended)
    assert states[live[1]] == full[live[1]]
    summarize(restored)
    summarize(reference)
    assert restored.states(P) == reference.states(P)


async def test_a_snapshot_of_other_code_is_not_used(
    space: Settings, log_reads: list[tuple[dict[int, int] | None, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with owner(space) as (writer, store):
        await History(writer, store).start(ended=3, live=1)
        assert await writer.snapshot(P)
    # As if the folds had changed since it was written: the partition comes from its whole log.
    monkeypatch.setattr(snapshots, "SCHEMA", b"0123456789abcdef")
    log_reads.clear()
    restored = new_store(space)
    await restored.restore(P)
    assert log_reads[0][0] == {P: 0}
    assert restored.states(P) == (await whole_log(space)).states(P)


async def test_a_snapshot_is_written_every_snapshot_every_events(space: Settings) -> None:
    every = len(ended_call("CA", "a"))
    settings = space.model_copy(update={"snapshot_every": every})
    async with owner(settings) as (writer, store):
        history = History(writer, store)
        for _ in range(3):  # one snapshot after each, once the writer has committed its events
            sid = history.sid()
            await history.emit(sid, ended_call(sid, history.agent))
        end = [logged.offset async for logged in read_log(settings, partitions=[P])][-1] + 1

        async def latest() -> Snapshot | None:
            return await read_snapshot(settings, P)

        snapshot = await eventually(latest, lambda s: s is not None and s.next_offset == end)
        assert snapshot is not None
        assert snapshot.states == {a: s for a, s in store.states(P).items() if s.exists}


async def test_a_fenced_writers_snapshot_is_refused(space: Settings) -> None:
    async with owner(space) as (old_writer, old_store):
        old = History(old_writer, old_store)
        await old.start(ended=2, live=1)
        # A state only the old owner has: it would show in the changelog if its snapshot got there.
        only_old = old.sid()
        old_store.replace(only_old, CallState(seq=7, tenant_id=old.tenant))
        async with owner(space) as (new_writer, taken):
            # The new owner's producer took the transactional id over: the old one is fenced.
            assert not await old_writer.snapshot(P)
            assert await read_snapshot(space, P) is None
            assert await new_writer.snapshot(P)
    snapshot = await read_snapshot(space, P)
    assert snapshot is not None
    assert snapshot.states == {a: s for a, s in taken.states(P).items() if s.exists}
    assert only_old.encode() not in await read_latest(space, P)


@asynccontextmanager
async def call_worker(settings: Settings) -> AsyncIterator[CallWorker]:
    """A call worker as the worker process builds it (its model and Twilio clients unused: the
    partitions it takes have no live calls)."""
    store = new_store(settings)
    writer = EventWriter(settings, store)
    redis = Redis.from_url(settings.redis_url)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url)
    telephony = Telephony(settings)
    broker = make_broker(settings, "test-snapshots")
    worker: list[CallWorker] = []
    metrics = Metrics.create()
    executor = ExecutorDeps(
        settings=settings,
        openai=AsyncOpenAI(api_key="unused", base_url="http://127.0.0.1:9"),
        telephony=telephony,
        playback=PlaybackSender(redis, settings),
        database=mongo[settings.mongodb_db],
        metrics=metrics,
        on_fenced=lambda partition: worker[0].fenced(partition),
    )
    worker.append(
        CallWorker(
            ActorDeps(
                settings=settings, store=store, writer=writer, redis=redis, executor=executor, metrics=metrics
            ),
            PlaceDeps(settings=settings, redis=redis, broker=broker, telephony=telephony),
        )
    )
    try:
        yield worker[0]
    finally:
        await worker[0].close()
        await writer.close()
        await telephony.close()
        await redis.aclose()
        await mongo.close()


async def test_a_taken_partition_holds_its_ended_calls_as_summaries(
    space: Settings, log_reads: list[tuple[dict[int, int] | None, int]]
) -> None:
    settings = space.model_copy(update={"snapshot_every": 50})
    async with owner(settings) as (writer, store):
        ended, _ = await History(writer, store).start(ended=6, live=0)
    full = (await whole_log(settings)).states(P)

    async with call_worker(settings) as first:
        await first.take(P)  # from the whole log, which it then snapshots
        assert log_reads[-1][0] == {P: 0}
        assert all(first.deps.store.states(P)[sid] == summary(full[sid]) for sid in ended)

        async def latest() -> Snapshot | None:
            return await read_snapshot(settings, P)

        await eventually(latest, lambda s: s is not None and all(sid in s.states for sid in ended))
        await first.give_up(P)

    async with call_worker(settings) as second:
        await second.take(P)
        start, read = log_reads[-1]
        assert read == 0
        assert start is not None
        assert start[P] > 0
        states = second.deps.store.states(P)
        assert all(states[sid] == summary(full[sid]) for sid in ended)
    for key, (value, _) in (await read_latest(settings, P)).items():
        if key.decode() in ended:
            assert len(value) < 250
