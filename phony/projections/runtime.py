"""The projector process: a FastStream consumer of the events topic that keeps the read models,
committing a batch of events only after each of them is applied."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from pydantic import ValidationError
from redis.asyncio import Redis

from phony import logs
from phony.config import Settings
from phony.events import EventEnvelope, decode
from phony.events.agents import AgentCreated
from phony.events.log import Records, Topics, make_broker, raw_records
from phony.in_order import each_in_order, grouped
from phony.metrics import Metrics, broker_consumers, consumer_lag_sampler
from phony.projections.parking import parked, reason_of, refused_by_store
from phony.projections.projector import Projector

log = logging.getLogger(__name__)

# The pauses between attempts at an event the store refused (the last one repeated).
REFUSED_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)


@asynccontextmanager
async def projector_runtime(settings: Settings, redis: Redis, metrics: Metrics) -> AsyncIterator[None]:
    """Run a projector until the context exits (read models must be initialised by the caller), its
    figures in ``metrics``."""
    broker = make_broker(settings, "projector")
    projector = Projector(settings, redis)
    parked_topic = Topics.of(settings).parked

    # Batches of what the broker has, each partition's events applied in order and the partitions
    # side by side (at most PHONY_PROJECTOR_CONCURRENCY at once); one offset commit per batch, after
    # every event of it is applied (a failed batch is sought back and redelivered; applying is
    # idempotent by seq). A commit per event was a broker round trip each. A batch's creations of
    # one tenant's agents go first, together (Projector.handle_created): an agent's creation is its
    # first event, and no other projection reads agents, so only the order among them matters, and
    # they are ranked by (created_at, _id) whatever order they come in.
    @broker.subscriber(
        Topics.of(settings).events,
        group_id=settings.group("projector"),
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        isolation_level="read_committed",  # a fenced worker's aborted writes never happened
        batch=True,
        max_records=settings.projector_batch_max,
        batch_timeout_ms=100,
        decoder=raw_records,
    )
    async def on_batch(batch: Any) -> None:  # Records (see raw_records)
        assert isinstance(batch, Records)
        try:
            events = [(record, decoded(record)) for record in batch.records]
            applied = await created_together([e for _, e in events if e is not None])
            rest = [(r, e) for r, e in events if e is None or (e.aggregate_id, e.seq) not in applied]
            partitions = grouped(rest, lambda pair: pair[0].partition)
            await each_in_order(partitions, project, settings.projector_concurrency)
        except BaseException:
            await batch.message.nack()
            raise
        await batch.message.ack()

    def decoded(record: ConsumerRecord[Any, Any]) -> EventEnvelope | None:
        try:
            return decode(record.value)
        except (ValidationError, LookupError, ValueError):
            log.error("undecodable event at %s:%s skipped", record.partition, record.offset)
            return None

    async def created_together(events: list[EventEnvelope]) -> set[tuple[str, int]]:
        """The batch's agent creations applied together, a tenant's at a time: (aggregate, seq) of each."""
        creations = grouped((e for e in events if e.type == AgentCreated.TYPE), lambda e: e.tenant_id)
        applied: set[tuple[str, int]] = set()

        async def tenant(created: list[EventEnvelope]) -> None:
            for event in await projector.handle_created(created):
                applied.add((event.aggregate_id, event.seq))
                metrics.projection_lag.observe(max(0.0, time.time() - event.timestamp.timestamp()))

        async with asyncio.TaskGroup() as group:
            for created in creations:
                if len(created) > 1:
                    group.create_task(tenant(created))
        return applied

    async def project(pair: tuple[ConsumerRecord[Any, Any], EventEnvelope | None]) -> None:
        record, event = pair
        if event is None:
            return
        call_sid = event.aggregate_id if event.aggregate_type == "call" else event.call_sid
        with logs.bound(command_id=event.command_id, tenant_id=event.tenant_id, call_sid=call_sid):
            for attempt in range(1, settings.projector_attempts + 1):
                try:
                    await projector.handle(event)
                    break
                except Exception as exc:
                    # Anything else (the store or Redis out of reach) fails the batch, which comes
                    # again: waiting for a dependency is right, skipping past it would lose the event.
                    if not refused_by_store(exc):
                        raise
                    reason = reason_of(exc)
                    if attempt == settings.projector_attempts:
                        await park(record, event.type, reason, attempt)
                        await projector.handle_parked(event, reason)
                        break
                    log.warning(
                        "%s %d of %s refused by the store (attempt %d): %s",
                        event.type,
                        event.seq,
                        event.aggregate_id,
                        attempt,
                        reason,
                    )
                    await asyncio.sleep(REFUSED_BACKOFF_S[min(attempt, len(REFUSED_BACKOFF_S)) - 1])
            metrics.projection_lag.observe(max(0.0, time.time() - event.timestamp.timestamp()))
            log.debug("%s %d of %s projected", event.type, event.seq, event.aggregate_id)

    async def park(record: ConsumerRecord[Any, Any], event_type: str, reason: str, attempts: int) -> None:
        """Keep a refused event on the parked topic (acknowledged by every replica before the batch's
        offsets pass it)."""
        entry = parked(record, json.loads(record.value), reason, attempts)
        await broker.publish(entry.model_dump_json().encode(), topic=parked_topic, key=record.key)
        metrics.projector_parked.labels(type=event_type).inc()
        log.error(
            "%s %d of %s parked after %d attempts: %s",
            event_type,
            entry.seq,
            entry.aggregate_id,
            attempts,
            reason,
        )

    await broker.start()
    try:
        async with consumer_lag_sampler(metrics, broker_consumers(settings.group("projector"), broker)):
            yield
    finally:
        await broker.stop()
