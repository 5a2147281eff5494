"""The one writer of a partition's events: a transactional producer whose id names the partition.

Whoever owns partition *p* of the events topic writes it through the transactional id
``<prefix>.owner-<p>``. A worker taking *p* over starts a producer with that id, which fences the
previous owner's producer (its open transaction is aborted, its next write fails with
``ProducerFenced``), so a worker that lost *p* while paused can write nothing more for *p*: no
second ``seq``, no event with an empty tenant. Readers of the log read committed records only.

Appends that arrive while a transaction is in flight go together in the next one (group commit): a
transaction costs a few broker round trips whatever it holds.

The same producer writes the partition's snapshots (:mod:`phony.workers.snapshots`), so a fenced
worker cannot write those either; each goes in a transaction of its own. ``on_commit`` hears of every
committed batch of events before their appenders resume, with the offset after them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    KafkaError,
    ProducerFenced,
    TransactionalIdAuthorizationFailed,
)
from aiokafka.structs import RecordMetadata

from phony.config import Settings
from phony.events import EventEnvelope
from phony.events.log import PRODUCER_OPTIONS, Topics, read_log
from phony.workers.snapshot_topic import SnapshotRecord, snapshot_topic

log = logging.getLogger(__name__)

_FENCED = (ProducerFenced, InvalidProducerEpoch, TransactionalIdAuthorizationFailed)


class OwnershipLost(Exception):
    """Another worker owns the partition now: this one must write and say nothing more for it."""

    def __init__(self, partition: int) -> None:
        super().__init__(f"partition {partition} is owned by another worker")
        self.partition = partition


class AppendFailed(Exception):
    """The broker did not take a snapshot (down, or the transaction failed): nothing was written.
    (Events are never failed so: they are written once the broker is back.)"""


def _quiet(send: asyncio.Future[RecordMetadata]) -> asyncio.Future[RecordMetadata]:
    """A send's future whose failure is not reported again: a failed transaction fails all its sends,
    and the transaction's own error says so once (asyncio would log each as never retrieved)."""
    send.add_done_callback(lambda done: done.cancelled() or done.exception())
    return send


def transactional_id(settings: Settings, partition: int) -> str:
    return f"{settings.topic_prefix}.owner-{partition}"


@dataclass
class _Pending:
    envelopes: Sequence[EventEnvelope]
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    snapshot: Sequence[SnapshotRecord] = ()  # records for the snapshots topic (then no envelopes)


class PartitionWriter:
    """Appends events to one partition in transactions, as its current owner."""

    def __init__(self, settings: Settings, partition: int) -> None:
        self.partition = partition
        self._settings = settings
        self._topic = Topics.of(settings).events
        self._producer: AIOKafkaProducer | None = None
        self._queue: list[_Pending] = []
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self.fenced = False
        self._end: int | None = None  # the events offset after the last batch this writer committed
        self._snapshots = snapshot_topic(settings)
        # Told of each committed batch of events, and the events offset after it, before the batch's
        # appenders resume: the store folds it there, so a snapshot taken then has no event missing.
        self.on_commit: Callable[[Sequence[EventEnvelope], int], None] | None = None
        # Asked before a fresh producer takes the transactional id after a failure: a worker that was
        # paused finds its transaction timed out, and must not take the partition back from its new
        # owner by starting a producer with the same id (that would fence the owner).
        self.still_owner: Callable[[], Awaitable[bool]] | None = None

    def _new_producer(self) -> AIOKafkaProducer:
        options = {k: v for k, v in PRODUCER_OPTIONS.items() if k != "enable_idempotence"}
        return AIOKafkaProducer(
            bootstrap_servers=self._settings.kafka_bootstrap,
            client_id=f"worker-owner-{self.partition}",
            transactional_id=transactional_id(self._settings, self.partition),
            transaction_timeout_ms=max(10_000, self._settings.worker_session_timeout_ms * 3),
            **options,
        )

    async def start(self) -> None:
        """Become the partition's writer: the previous owner's producer is fenced once this returns."""
        await self._claim()
        self._flusher = asyncio.create_task(self._flush_loop(), name=f"owner-{self.partition}")

    async def _claim(self) -> None:
        producer = self._new_producer()
        await producer.start()
        try:
            # An empty transaction waits for the producer id of this transactional id: the broker has
            # then bumped its epoch, aborting and fencing whatever the previous owner had open.
            await producer.begin_transaction()
            await producer.commit_transaction()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # giving up: whatever it was
                await self._flusher
        for pending in self._queue:
            if not pending.done.done():
                pending.done.set_exception(OwnershipLost(self.partition))
        self._queue.clear()
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None

    def restored_to(self, next_offset: int) -> None:
        """The log of the partition has been read to ``next_offset`` (where a failed append looks)."""
        self._end = max(self._end or 0, next_offset)

    async def append(self, envelopes: Sequence[EventEnvelope]) -> None:
        """Write ``envelopes`` (in order) and return once they are committed, however long the broker
        is away; ``OwnershipLost`` when another worker owns the partition."""
        if self.fenced:
            raise OwnershipLost(self.partition)
        pending = _Pending(envelopes)
        self._queue.append(pending)
        self._wake.set()
        await pending.done

    def snapshot(self, records: Sequence[SnapshotRecord]) -> asyncio.Future[None]:
        """Queue ``records`` for this partition of the snapshots topic; the future is done once they
        are committed (failed with ``OwnershipLost`` or ``AppendFailed`` as :meth:`append` is)."""
        pending = _Pending((), snapshot=records)
        if self.fenced:
            pending.done.set_exception(OwnershipLost(self.partition))
        else:
            self._queue.append(pending)
            self._wake.set()
        return pending.done

    def _next_batch(self) -> list[_Pending]:
        """The next transaction's share of the queue: the appends before the next snapshot, or that
        snapshot alone (a snapshot that fails must not fail events)."""
        if self._queue and self._queue[0].snapshot:
            n = 1
        else:
            n = next((i for i, p in enumerate(self._queue) if p.snapshot), len(self._queue))
        batch, self._queue = self._queue[:n], self._queue[n:]
        if self._queue:
            self._wake.set()
        return batch

    async def _flush_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch = self._next_batch()
            if not batch:
                continue
            if self.fenced or self._producer is None:
                self._fail(batch, OwnershipLost(self.partition))
                continue
            try:
                next_offset = await self._commit(batch)
            except _FENCED:
                self.fenced = True
                log.warning("partition %d: fenced, another worker owns it", self.partition)
                self._fail(batch, OwnershipLost(self.partition))
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning(
                    "partition %d: append failed (%r); starting a fresh producer", self.partition, exc
                )
                await self._recover(batch, AppendFailed(str(exc)))
            except Exception as exc:  # a bug: the appenders hear of it, the writer goes on
                log.exception("partition %d: append failed", self.partition)
                self._fail(batch, AppendFailed(repr(exc)))
            else:
                self._succeeded(batch, next_offset)

    def _succeeded(self, batch: list[_Pending], next_offset: int | None) -> None:
        if next_offset is not None:
            self._end = next_offset
        self._committed(batch, next_offset)
        for pending in batch:
            if not pending.done.done():
                pending.done.set_result(None)

    async def _recover(self, batch: list[_Pending], failure: AppendFailed) -> None:
        """After a failed transaction (a broker that went away): a fresh producer, then the log says
        what became of the events. The coordinator finishes the old transaction when the new producer
        starts, so they are either all committed (the answer was lost) or not at all: the appenders
        are told they are written, or they go first into the next transaction. Nothing is lost and
        nothing is written twice; a snapshot that failed is just failed (it is taken again)."""
        await self._renew()
        if self.fenced:
            self._fail(batch, OwnershipLost(self.partition))
            return
        self._fail([p for p in batch if p.snapshot], failure)
        events = [p for p in batch if not p.snapshot]
        if not events:
            return
        landed = await self._landed(events)
        if landed is not None:
            self._succeeded(events, landed)
            return
        self._queue[:0] = events
        self._wake.set()

    async def _landed(self, batch: list[_Pending]) -> int | None:
        """The offset after ``batch``'s events if they are on the log (committed), else ``None``."""
        wanted = {envelope.id for pending in batch for envelope in pending.envelopes}
        while True:
            try:
                found: int | None = None
                start = {self.partition: self._end} if self._end is not None else None
                async for logged in read_log(self._settings, partitions=[self.partition], from_offsets=start):
                    if logged.event.id in wanted:
                        found = logged.offset + 1
                return found
            except (KafkaError, OSError, TimeoutError) as exc:
                log.info("partition %d: cannot read the log yet (%r)", self.partition, exc)
                await asyncio.sleep(1.0)

    async def _commit(self, batch: list[_Pending]) -> int | None:
        """Write ``batch`` in one transaction; the events offset after it (None: no events in it)."""
        producer = self._producer
        assert producer is not None
        async with asyncio.timeout(self._settings.kafka_write_timeout_s):
            async with producer.transaction():
                sends = [
                    _quiet(
                        await producer.send(
                            self._topic,
                            envelope.to_json(),
                            key=envelope.aggregate_id.encode(),
                            partition=self.partition,
                        )
                    )
                    for pending in batch
                    for envelope in pending.envelopes
                ]
                snapshot = [
                    _quiet(
                        await producer.send(
                            self._snapshots, value, key=key, partition=self.partition, headers=list(headers)
                        )
                    )
                    for pending in batch
                    for key, value, headers in pending.snapshot
                ]
            written = await asyncio.gather(*sends, *snapshot)
        return written[len(sends) - 1].offset + 1 if sends else None

    def _committed(self, batch: list[_Pending], next_offset: int | None) -> None:
        if self.on_commit is None or next_offset is None:
            return
        try:
            self.on_commit([envelope for pending in batch for envelope in pending.envelopes], next_offset)
        except Exception:  # the events are committed: their appenders are told so, whatever this did
            log.exception("partition %d: on_commit failed", self.partition)

    def _fail(self, batch: list[_Pending], exc: Exception) -> None:
        for pending in batch:
            if not pending.done.done():
                pending.done.set_exception(exc)

    async def _renew(self) -> None:
        """A transaction that failed leaves the producer unusable: a fresh one with the same id (which
        also aborts what the failed one left open), tried until the broker answers."""
        old, self._producer = self._producer, None
        if old is not None:
            with contextlib.suppress(Exception):
                await old.stop()
        if self.still_owner is not None and not await self.still_owner():
            log.warning("partition %d: another worker owns it now; not taking it back", self.partition)
            self.fenced = True
            return
        while True:
            try:
                async with asyncio.timeout(self._settings.kafka_write_timeout_s * 2):
                    await self._claim()
                return
            except _FENCED:
                self.fenced = True
                return
            except (KafkaError, OSError, TimeoutError) as exc:
                log.info("partition %d: broker not back yet (%r)", self.partition, exc)
                await asyncio.sleep(1.0)
