"""The one producer helper every Phony writer uses: an idempotent aiokafka producer that replaces itself
with a fresh one (a new producer id) when an error has left it unusable, and counts its errors
instead of logging each.

Why an idempotent producer becomes unusable: aiokafka gives a batch its sequence numbers when it takes
the batch off the queue, before sending it. A batch that then fails for good leaves a gap in that
partition's sequence, and the broker refuses every later batch of the producer on that partition with
``OutOfOrderSequenceNumber``, for ever. A broker restart does exactly this: during a controlled
shutdown the broker reports its partitions leaderless, the producer keeps that answer while it cannot
reach the broker, and batches older than ``request_timeout_ms`` then fail with
``LeaderNotAvailableError``. ``UnknownProducerId`` (the broker lost the producer's state) and
``InvalidProducerIdMapping`` leave it unusable too, and a producer whose sender task died refuses every
send. The Java client resets its sequences in some of these cases; aiokafka does not, so the remedy is
a new producer. ``ProducerFenced`` is the exception: another producer owns the transactional id now,
and a replacement would defeat the fence, so it is raised and never healed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerIdMapping,
    KafkaError,
    KafkaTimeoutError,
    LeaderNotAvailableError,
    NotLeaderForPartitionError,
    OutOfOrderSequenceNumber,
    ProducerClosed,
    ProducerFenced,
    UnknownProducerId,
)
from aiokafka.structs import RecordMetadata

from phony.config import Settings
from phony.events.log import PRODUCER_OPTIONS

log = logging.getLogger(__name__)

REPORT_EVERY_S = 5.0  # repeated errors make one log line per this long, with their counts
REPLACE_EVERY_S = 1.0  # at most one replacement per this long (an error a new producer repeats)
START_RETRY_S = 0.5  # between attempts to start the replacement while the broker is unreachable

# Failures after which the record is certainly not on the log and a new producer can write it: the
# broker refused its sequence or producer id, or it expired unsent while its partition had no leader
# (a failed delivery reports these two only for that). Others (a record too large, a topic not
# authorized) would fail again on any producer, so they go back to the sender.
RESEND_AFTER: tuple[type[KafkaError], ...] = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    InvalidProducerIdMapping,
    LeaderNotAvailableError,
    NotLeaderForPartitionError,
)


class ErrorTally:
    """Counts errors by kind and logs them at most once per ``every_s`` (the first one at once), so a
    broker that refuses every audio frame for a minute makes a dozen lines, not fifty thousand."""

    def __init__(self, name: str, every_s: float = REPORT_EVERY_S) -> None:
        self.name = name
        self.total = 0
        self._every = every_s
        self._pending: Counter[str] = Counter()
        self._example: dict[str, str] = {}
        self._last = float("-inf")
        self._timer: asyncio.TimerHandle | None = None

    def note(self, exc: BaseException) -> None:
        """Count ``exc``; a report is due within ``every_s`` of the previous one."""
        self.total += 1
        kind = type(exc).__name__
        self._pending[kind] += 1
        self._example[kind] = str(exc)
        if self._timer is None:
            delay = max(0.0, self._last + self._every - time.monotonic())
            self._timer = asyncio.get_running_loop().call_later(delay, self.report)

    def report(self) -> None:
        """Log what was counted since the last report (nothing if nothing was)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        self._last = time.monotonic()
        kinds = "; ".join(f"{n}x {kind} ({self._example[kind]})" for kind, n in self._pending.most_common())
        log.warning("%s: %s; %d errors in all", self.name, kinds, self.total)
        self._pending.clear()
        self._example.clear()


class _Generation:
    """One underlying producer, and the fire-and-forget deliveries of it not yet looked at. Their
    failures report to the owner with it, so a late failure of a producer already replaced does not
    replace its successor."""

    __slots__ = ("owner", "producer", "unchecked")

    def __init__(self, owner: HealingProducer, producer: AIOKafkaProducer) -> None:
        self.owner = owner
        self.producer = producer
        # Per partition, in send order (which is delivery order on one partition). A done-callback per
        # record would cost the audio path an event-loop handle per frame; a look at the oldest ones at
        # each send costs a deque operation, and still retrieves every failure (asyncio would log each
        # one left unretrieved).
        self.unchecked: dict[int | None, deque[asyncio.Future[RecordMetadata]]] = {}

    def track(self, partition: int | None, future: asyncio.Future[RecordMetadata]) -> None:
        """Remember ``future``; look at the deliveries on ``partition`` that are done meanwhile."""
        queue = self.unchecked.get(partition)
        if queue is None:
            queue = self.unchecked[partition] = deque()
        while queue and queue[0].done():
            self.delivered(queue.popleft())
        queue.append(future)

    def check_all(self) -> None:
        """Look at every delivery that is done (all of them once the producer is stopped)."""
        for queue in self.unchecked.values():
            while queue and queue[0].done():
                self.delivered(queue.popleft())

    def delivered(self, future: asyncio.Future[RecordMetadata]) -> None:
        if not future.cancelled() and (exc := future.exception()) is not None:
            self.owner._failed(self, exc, delivered=True)


def _sender_died(producer: AIOKafkaProducer) -> bool:
    # aiokafka keeps its sender task private; once it has ended the producer refuses every send.
    task = getattr(getattr(producer, "_sender", None), "sender_task", None)
    return task is not None and task.done()


def producer_id(producer: AIOKafkaProducer) -> int | None:
    """The producer id the broker gave ``producer`` (None before it has one)."""
    manager = getattr(producer, "_txn_manager", None)  # aiokafka keeps it private
    pid = getattr(manager, "producer_id", -1)
    return pid if isinstance(pid, int) and pid >= 0 else None


class HealingProducer:
    """An AIOKafkaProducer with :data:`~phony.events.log.PRODUCER_OPTIONS` (plus ``overrides``) that
    replaces itself after an error that leaves it unusable (see the module's docstring).

    What a replacement loses: records the old producer had already failed (their senders got the
    error; :meth:`send_and_wait` sends them again on the new producer, within its timeout). Records the
    old producer still holds are flushed by it in the background, so across the switch the order of
    unacknowledged records on one partition is not guaranteed; an acknowledged record stays written."""

    def __init__(self, settings: Settings, client_id: str, **overrides: Any) -> None:
        self.client_id = client_id
        self._options: dict[str, Any] = {
            "bootstrap_servers": settings.kafka_bootstrap,
            "client_id": client_id,
            **PRODUCER_OPTIONS,
            **overrides,
        }
        self.errors = ErrorTally(f"Kafka producer {client_id}")
        self.replacements = 0
        self._current: _Generation
        self._healing: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._replaced_at = float("-inf")
        self._closed = False

    @property
    def producer_id(self) -> int | None:
        """The current producer's id (a replacement has a new one)."""
        return producer_id(self._current.producer)

    async def start(self) -> None:
        """Start the first producer (raises ``KafkaError`` when the broker is unreachable)."""
        self._current = _Generation(self, await self._started())

    async def _started(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(**self._options)
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        return producer

    async def stop(self) -> None:
        """Flush and close the current producer and any being retired; report the errors counted."""
        self._closed = True
        if self._healing is not None:
            self._healing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._healing
        await self._current.producer.stop()
        self._current.check_all()
        await asyncio.gather(*self._retiring, return_exceptions=True)
        self.errors.report()

    async def send(
        self, topic: str, value: bytes, key: bytes | None = None, partition: int | None = None
    ) -> None:
        """Queue a record without waiting for its acknowledgement (the audio hot path: beyond aiokafka's
        own send, a deque operation per record). A failed delivery is counted, and heals the producer
        when it must, at a later send on the same partition; it is never raised. Raises ``KafkaError``
        when the producer cannot queue the record."""
        generation = self._current
        try:
            future = await generation.producer.send(topic, value, key=key, partition=partition)
        except KafkaError as exc:
            self._failed(generation, exc, delivered=False)
            raise
        generation.track(partition, future)

    async def send_and_wait(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        partition: int | None = None,
        *,
        timeout_s: float | None,
    ) -> RecordMetadata:
        """Send a record and wait for its acknowledgement: its ``RecordMetadata`` (offset, and the
        broker's append time on a ``LogAppendTime`` topic). A record refused by an unusable producer is
        sent again on its replacement. Raises ``KafkaTimeoutError`` when no acknowledgement came within
        ``timeout_s`` (the record may still be written later), or the ``KafkaError`` that refused it."""
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    if self._closed:
                        raise ProducerClosed()
                    generation = self._current
                    try:
                        future = await generation.producer.send(topic, value, key=key, partition=partition)
                    except KafkaError as exc:
                        if not self._failed(generation, exc, delivered=False):
                            raise
                        await self._replaced(generation, exc)
                        continue
                    future.add_done_callback(generation.delivered)  # counts and heals, even after a timeout
                    try:
                        metadata: RecordMetadata = await asyncio.shield(future)
                    except KafkaError as exc:  # the callback has counted it and begun the healing
                        if not (isinstance(exc, RESEND_AFTER) or _sender_died(generation.producer)):
                            raise
                        await self._replaced(generation, exc)
                        continue
                    return metadata
        except TimeoutError as exc:
            raise KafkaTimeoutError(f"no acknowledgement from Kafka within {timeout_s} s") from exc

    def _failed(self, generation: _Generation, exc: BaseException, *, delivered: bool) -> bool:
        """Count ``exc``; whether it leaves ``generation``'s producer unusable (then replace it, once)."""
        self.errors.note(exc)
        if isinstance(exc, ProducerFenced):
            return False
        # A record that failed after it was taken off the queue burnt its sequence numbers (a gap); one
        # refused before that did not, unless the sender itself is gone.
        if not (delivered or _sender_died(generation.producer)):
            return False
        self._replace(generation, exc)
        return True

    def _replace(self, generation: _Generation, cause: BaseException) -> None:
        if generation is self._current and self._healing is None and not self._closed:
            self._healing = asyncio.create_task(self._heal(generation, cause), name=f"heal-{self.client_id}")

    async def _replaced(self, generation: _Generation, cause: BaseException) -> None:
        """Wait until ``generation`` is no longer the current producer (or this one is closed)."""
        self._replace(generation, cause)
        if generation is self._current and self._healing is not None:
            # wait() rather than await: the caller's timeout must not cancel the healing, and a
            # healing cancelled by stop() must not look like the caller's own cancellation.
            await asyncio.wait({self._healing})

    async def _heal(self, broken: _Generation, cause: BaseException) -> None:
        try:
            await asyncio.sleep(max(0.0, self._replaced_at + REPLACE_EVERY_S - time.monotonic()))
            while True:
                try:
                    fresh = await self._started()
                    break
                except Exception as exc:  # the broker is away: try again until it is back
                    self.errors.note(exc)
                    await asyncio.sleep(START_RETRY_S)
            self._current = _Generation(self, fresh)
            self._replaced_at = time.monotonic()
            self.replacements += 1
            log.warning(
                "Kafka producer %s replaced after %s: producer id %s -> %s",
                self.client_id,
                type(cause).__name__,
                producer_id(broken.producer),
                producer_id(fresh),
            )
            retiring = asyncio.create_task(self._retire(broken), name=f"retire-{self.client_id}")
            self._retiring.add(retiring)
            retiring.add_done_callback(self._retiring.discard)
        finally:
            self._healing = None

    async def _retire(self, generation: _Generation) -> None:
        """Let the replaced producer deliver what it still holds, then close it."""
        try:
            await generation.producer.stop()
        except Exception as exc:
            self.errors.note(exc)
        generation.check_all()
