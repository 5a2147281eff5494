"""A partition's writer after a failed transaction: it goes on as the owner (nothing lost or doubled),
or, if another worker owns the partition now, it gives up instead of taking it back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from phony.config import Settings
from phony.events import EventEnvelope, envelope_for
from phony.events.calls import DtmfReceived
from phony.events.log import ensure_topics, read_log
from phony.workers.partition_writer import OwnershipLost, PartitionWriter
from phony.workers.snapshot_topic import ensure_snapshot_topic
from tests.support import Servers, drop_namespace


@pytest.fixture
async def space(servers: Servers) -> AsyncIterator[Settings]:
    name = f"t{uuid.uuid4().hex[:10]}"
    settings = Settings(_env_file=None, kafka_bootstrap=servers.kafka, topic_prefix=name, partitions=1)
    await ensure_topics(settings)
    await ensure_snapshot_topic(settings)
    yield settings
    await drop_namespace(servers, name)


def event(seq: int) -> EventEnvelope:
    return envelope_for(DtmfReceived(digit="1"), aggregate_id="CA1", tenant_id="t", seq=seq)


def fail_next_commit(writer: PartitionWriter, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer's next transaction times out before it sent anything (a broker that went away, or
    a worker paused in the middle of one)."""
    commit = writer._commit
    calls = {"n": 0}

    async def failing(batch: Any) -> int | None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TimeoutError
        return await commit(batch)

    monkeypatch.setattr(writer, "_commit", failing)


async def logged_ids(settings: Settings) -> list[str]:
    return [logged.event.id async for logged in read_log(settings)]


async def test_an_owner_whose_transaction_failed_writes_its_events_once(
    space: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = PartitionWriter(space, 0)

    async def yes() -> bool:
        return True

    writer.still_owner = yes
    await writer.start()
    try:
        fail_next_commit(writer, monkeypatch)
        first = event(1)
        await writer.append([first])
        second = event(2)
        await writer.append([second])
    finally:
        await writer.stop()
    assert await logged_ids(space) == [first.id, second.id]


async def test_a_writer_that_lost_the_partition_does_not_take_it_back_after_a_failure(
    space: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = PartitionWriter(space, 0), PartitionWriter(space, 0)
    owner = {"old": True}

    async def old_still_owner() -> bool:
        return owner["old"]

    old.still_owner = old_still_owner
    await old.start()
    try:
        await new.start()  # another worker took the partition over (this fences the old producer)
        owner["old"] = False
        fail_next_commit(old, monkeypatch)  # the old one wakes up with its transaction timed out
        with pytest.raises(OwnershipLost):
            await old.append([event(1)])
        assert old.fenced
        kept = event(1)
        await new.append([kept])  # the new owner was not fenced by the old one
    finally:
        await old.stop()
        await new.stop()
    assert await logged_ids(space) == [kept.id]
