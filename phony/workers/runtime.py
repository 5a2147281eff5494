"""The worker process: a FastStream consumer of the commands topic that owns its partitions'
aggregates, committing each command only after its handler succeeded (at-least-once, idempotent)."""

from __future__ import annotations

import logging
import time
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

from phony import logs
from phony.commands import AnyCommand, decode_command
from phony.commands.audio import AudioFrame
from phony.commands.calls import call_sid_of
from phony.commands.expiry import expired
from phony.config import Settings
from phony.events.log import Records, Topics, make_broker, raw_records
from phony.in_order import each_in_order, grouped
from phony.metrics import Metrics, broker_consumers, consumer_lag_sampler
from phony.workers.admin import ADMIN_COMMANDS, AdminHandler
from phony.workers.calls.actor import ActorDeps
from phony.workers.calls.executor import ExecutorDeps
from phony.workers.calls.state import CallState, fold_call
from phony.workers.calls.telephony import Telephony
from phony.workers.calls.worker import CallWorker, PlaceDeps
from phony.workers.partition_writer import OwnershipLost
from phony.workers.phone_claims import PhoneClaims
from phony.workers.playback import PlaybackSender
from phony.workers.store import AggregateStore
from phony.workers.writer import EventWriter

log = logging.getLogger(__name__)


class _Ownership(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """Partition ownership follows the group's assignment. With eager rebalancing every rebalance
    revokes everything and assigns anew, so nothing is given up on revocation: the new assignment is
    compared with what this worker holds (see ``CallWorker.assigned``)."""

    def __init__(self, calls: CallWorker) -> None:
        self._calls = calls

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        pass

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        partitions = {tp.partition for tp in assigned}
        log.info("worker owns partitions %s", sorted(partitions))
        try:
            await self._calls.assigned(partitions)
        except Exception:
            log.exception("taking over partitions %s failed", sorted(partitions))


def _only_ownership_lost(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(_only_ownership_lost(e) for e in exc.exceptions)
    return isinstance(exc, OwnershipLost)


@asynccontextmanager
async def worker_runtime(
    settings: Settings, redis: Redis, mongo: AsyncMongoClient[dict[str, Any]], metrics: Metrics
) -> AsyncIterator[AggregateStore]:
    """Run a worker until the context exits, its figures in ``metrics``."""
    topics = Topics.of(settings)
    broker = make_broker(settings, "worker")
    store = AggregateStore(settings)
    store.register("call", CallState, fold_call)
    writer = EventWriter(settings, store)
    claims = PhoneClaims(mongo[settings.mongodb_db]["phone_claims"])
    admin = AdminHandler(settings, store, writer, redis, claims)
    telephony = Telephony(settings)
    openai = AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value() or "unset",
        base_url=settings.openai_base_url,
        websocket_base_url=settings.openai_websocket_base_url,
    )
    fenced: list[CallWorker] = []
    executor = ExecutorDeps(
        settings=settings,
        openai=openai,
        telephony=telephony,
        playback=PlaybackSender(redis, settings),
        database=mongo[settings.mongodb_db],
        metrics=metrics,
        on_fenced=lambda partition: fenced[0].fenced(partition),
    )
    calls = CallWorker(
        ActorDeps(
            settings=settings, store=store, writer=writer, redis=redis, executor=executor, metrics=metrics
        ),
        PlaceDeps(settings=settings, redis=redis, broker=broker, telephony=telephony),
    )
    fenced.append(calls)
    metrics.active_calls.set_function(lambda: sum(1 for a in calls.actors.values() if a.state.live))

    # One consumer for commands and caller audio, range-assigned: partition p of both topics (same
    # key, same partition count) belongs to the same worker, which owns those calls. It takes what the
    # broker has in batches. Committing is by hand (MANUAL), because a commit is a broker round trip
    # the next batch waits for: after a batch with commands at once (they are at-least-once), after
    # audio alone at most every PHONY_WORKER_AUDIO_COMMIT_MS (a worker failure replays that much audio
    # to a model session that is opened afresh anyway). A failed batch is sought back and redelivered.
    @broker.subscriber(
        topics.commands,
        topics.audio,
        group_id=settings.group("worker"),
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        partition_assignment_strategy=(RangePartitionAssignor,),
        listener=_Ownership(calls),
        max_poll_interval_ms=60_000,
        # A dead (or paused) worker's partitions move after this long: its live calls go on elsewhere.
        session_timeout_ms=settings.worker_session_timeout_ms,
        heartbeat_interval_ms=settings.worker_heartbeat_ms,
        rebalance_timeout_ms=max(10_000, settings.worker_session_timeout_ms * 3),
        batch=True,
        max_records=settings.worker_batch_max,
        batch_timeout_ms=100,
        decoder=raw_records,
    )
    async def on_batch(batch: Any) -> None:  # Records (see raw_records)
        assert isinstance(batch, Records)
        try:
            handled_commands = await handle_batch(batch.records)
        except Exception as exc:
            await batch.message.nack()
            if _only_ownership_lost(exc):
                # Another worker owns a partition of this batch now; the group will take it from us.
                log.debug("batch of a partition this worker no longer owns: redelivered to its owner")
                return
            raise
        now = time.monotonic()
        if handled_commands or now - committed[0] >= settings.worker_audio_commit_ms / 1000:
            await batch.message.ack()
            committed[0] = now

    committed = [time.monotonic()]

    async def handle_batch(records: tuple[ConsumerRecord[Any, Any], ...]) -> bool:
        await calls.ready({r.partition for r in records})
        # Commands first (a supervisor's override does not wait behind a second of audio; a stream's
        # start opens its session before its frames), then audio, each in log order per call.
        commands = [r for r in records if r.topic != topics.audio]
        await handle_commands(commands)
        frames: list[AudioFrame] = []
        for record in (r for r in records if r.topic == topics.audio):
            try:
                frames.append(AudioFrame.decode(record.value))
            except (ValueError, TypeError):
                log.error("undecodable audio at %s:%s dropped", record.partition, record.offset)
        if frames:
            await calls.audio(frames)
        return bool(commands)

    async def handle_commands(records: list[ConsumerRecord[Any, Any]]) -> None:
        """In log order per aggregate, different aggregates concurrently: fifty calls starting at once,
        or thirty-two clients creating agents, must not wait on each other's broker writes. A decision
        reads only its own aggregate's state; what aggregates share (a phone number) is claimed in
        MongoDB under a unique ``_id``, so concurrent claims still give the number to one agent."""
        commands: list[AnyCommand] = []
        for record in records:
            try:
                command = decode_command(record.value)
            except ValidationError:
                # A poison message can never succeed: log it and move on rather than block the partition.
                log.error("undecodable command at %s:%s dropped", record.partition, record.offset)
                continue
            if expired(command, record.timestamp):
                # Its sender answered 503 (the broker took it too late): it must never be carried out.
                log.warning("command %s appended after its deadline: not carried out", command.id)
                continue
            commands.append(command)
        await each_in_order(grouped(commands, lambda c: c.aggregate_id), handle_command)

    async def handle_command(command: AnyCommand) -> None:
        with logs.bound(command_id=command.id, tenant_id=command.tenant_id, call_sid=call_sid_of(command)):
            log.debug("%s %s for %s", type(command).__name__, command.id, command.aggregate_id)
            if isinstance(command, ADMIN_COMMANDS):
                await admin.handle(command)
            else:
                await calls.handle(command)

    await broker.start()
    try:
        async with consumer_lag_sampler(metrics, broker_consumers(settings.group("worker"), broker)):
            yield store
    finally:
        await broker.stop()
        await calls.close()
        await writer.close()
        await telephony.close()
