"""The projector process: a FastStream consumer of the events topic that keeps the read models,
committing each event only after it is applied."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from faststream import AckPolicy
from pydantic import ValidationError
from redis.asyncio import Redis

from phony import logs
from phony.config import Settings
from phony.events import decode
from phony.events.log import Topics, make_broker, raw_records
from phony.metrics import Metrics, broker_consumers, consumer_lag_sampler
from phony.projections.projector import Projector

log = logging.getLogger(__name__)


@asynccontextmanager
async def projector_runtime(settings: Settings, redis: Redis, metrics: Metrics) -> AsyncIterator[None]:
    """Run a projector until the context exits (read models must be initialised by the caller), its
    figures in ``metrics``."""
    broker = make_broker(settings, "projector")
    projector = Projector(settings, redis)

    @broker.subscriber(
        Topics.of(settings).events,
        group_id=settings.group("projector"),
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        isolation_level="read_committed",  # a fenced worker's aborted writes never happened
        # One consumer per partition slot: partitions are projected in parallel, each in order.
        max_workers=min(settings.partitions, settings.projector_concurrency),
        decoder=raw_records,
    )
    async def on_event(batch: Any) -> None:  # Records of one record (see raw_records)
        [record] = batch.records
        try:
            event = decode(record.value)
        except (ValidationError, LookupError, ValueError):
            log.error("undecodable event at offset %s skipped", record.offset)
            return
        call_sid = event.aggregate_id if event.aggregate_type == "call" else event.call_sid
        with logs.bound(command_id=event.command_id, tenant_id=event.tenant_id, call_sid=call_sid):
            await projector.handle(event)
            metrics.projection_lag.observe(max(0.0, time.time() - event.timestamp.timestamp()))
            log.debug("%s %d of %s projected", event.type, event.seq, event.aggregate_id)

    await broker.start()
    try:
        async with consumer_lag_sampler(metrics, broker_consumers(settings.group("projector"), broker)):
            yield
    finally:
        await broker.stop()
