"""The worker process: a FastStream consumer of the commands topic that owns its partitions'
aggregates, committing each command only after its handler succeeded (at-least-once, idempotent)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from faststream import AckPolicy
from openai import AsyncOpenAI
from pydantic import ValidationError
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from phony.commands import decode_command
from phony.commands.audio import AudioFrame
from phony.config import Settings
from phony.events.log import Topics, make_broker, raw_records
from phony.workers.admin import ADMIN_COMMANDS, AdminHandler
from phony.workers.calls.context import CallDeps
from phony.workers.calls.handler import CallHandler
from phony.workers.calls.state import CallState, fold_call
from phony.workers.calls.telephony import Telephony
from phony.workers.phone_claims import PhoneClaims
from phony.workers.store import AggregateStore
from phony.workers.writer import EventWriter

log = logging.getLogger(__name__)


class _Ownership(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """Forget partitions handed to another worker, so their state is restored afresh if they
    come back (the other owner may have appended events meanwhile)."""

    def __init__(self, store: AggregateStore) -> None:
        self._store = store

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self._store.forget({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("worker owns partitions %s", sorted(tp.partition for tp in assigned))


@asynccontextmanager
async def worker_runtime(
    settings: Settings, redis: Redis, mongo: AsyncMongoClient[dict[str, Any]]
) -> AsyncIterator[AggregateStore]:
    """Run a worker until the context exits."""
    topics = Topics.of(settings)
    broker = make_broker(settings, "worker")
    store = AggregateStore(settings)
    store.register("call", CallState, fold_call)
    writer = EventWriter(settings, broker, store)
    claims = PhoneClaims(mongo[settings.mongodb_db]["phone_claims"])
    admin = AdminHandler(settings, store, writer, redis, claims)
    telephony = Telephony(settings)
    calls = CallHandler(
        CallDeps(
            settings=settings,
            store=store,
            writer=writer,
            broker=broker,
            redis=redis,
            database=mongo[settings.mongodb_db],
            openai=AsyncOpenAI(
                api_key=settings.openai_api_key.get_secret_value() or "unset",
                base_url=settings.openai_base_url,
                websocket_base_url=settings.openai_websocket_base_url,
            ),
            telephony=telephony,
        )
    )

    # One consumer for commands and caller audio, range-assigned: partition p of both topics (same
    # key, same partition count) belongs to the same worker, which owns those calls. It takes what the
    # broker has in batches and commits once per batch, after handling it: a commit per 20 ms audio
    # frame would cap a worker at a few calls (each commit is a broker round trip).
    @broker.subscriber(
        topics.commands,
        topics.audio,
        group_id=settings.group("worker"),
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        partition_assignment_strategy=(RangePartitionAssignor,),
        listener=_Ownership(store),
        max_poll_interval_ms=60_000,
        batch=True,
        max_records=settings.worker_batch_max,
        batch_timeout_ms=100,
        decoder=raw_records,
    )
    async def on_batch(records: Any) -> None:  # the batch's records (see raw_records)
        for partition in {r.partition for r in records}:
            await store.ensure_partition(partition)
        # Commands first (a supervisor's override does not wait behind a second of audio; a stream's
        # start opens its session before its frames), then audio, each in log order per partition.
        for record in (r for r in records if r.topic != topics.audio):
            await handle_command(record)
        frames: list[AudioFrame] = []
        for record in (r for r in records if r.topic == topics.audio):
            try:
                frames.append(AudioFrame.decode(record.value))
            except (ValueError, TypeError):
                log.error("undecodable audio at %s:%s dropped", record.partition, record.offset)
        if frames:
            await calls.audio(frames)

    async def handle_command(record: ConsumerRecord[Any, Any]) -> None:
        try:
            command = decode_command(record.value)
        except ValidationError:
            # A poison message can never succeed: log it and move on rather than block the partition.
            log.error("undecodable command at %s:%s dropped", record.partition, record.offset)
            return
        if isinstance(command, ADMIN_COMMANDS):
            await admin.handle(command)
        else:
            await calls.handle(command)

    await broker.start()
    try:
        yield store
    finally:
        await broker.stop()
        await calls.close()
        await telephony.close()
