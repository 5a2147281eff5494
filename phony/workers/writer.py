"""Appends an aggregate's new events to the log with the next ``seq`` numbers, through the writer of
the aggregate's partition (see :mod:`phony.workers.partition_writer`), and snapshots each partition's
states every ``snapshot_every`` events appended (see :mod:`phony.workers.snapshots`)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence

from phony import logs
from phony.commands.audio import call_partition
from phony.config import Settings
from phony.events import EventData, EventEnvelope, envelope_for
from phony.workers.decisions import AggregateState
from phony.workers.partition_writer import AppendFailed, OwnershipLost, PartitionWriter
from phony.workers.snapshot_topic import ensure_snapshot_topic
from phony.workers.snapshots import Changes
from phony.workers.store import AggregateStore

log = logging.getLogger(__name__)


class EventWriter:
    """The single writer of the aggregates on this worker's partitions. Each aggregate has one caller
    of :meth:`emit` at a time (its actor, or the admin handler's in-order loop), so the next ``seq`` is
    the state's plus one without a lock."""

    def __init__(self, settings: Settings, store: AggregateStore) -> None:
        self._settings = settings
        self._store = store
        self._writers: dict[int, PartitionWriter] = {}
        self._saving: dict[int, asyncio.Future[None]] = {}  # the snapshot in flight, per partition
        self._snapshot_topic_ready = False

    async def own(self, partition: int, still_owner: Callable[[], Awaitable[bool]] | None = None) -> None:
        """Become the writer of ``partition`` (fencing its previous owner); ``still_owner`` says,
        after a failure, whether this worker still owns it (see ``PartitionWriter.still_owner``)."""
        await self.disown(partition)
        if not self._snapshot_topic_ready:
            await ensure_snapshot_topic(self._settings)
            self._snapshot_topic_ready = True
        writer = PartitionWriter(self._settings, partition)
        writer.on_commit = functools.partial(self._committed, partition)
        writer.still_owner = still_owner
        await writer.start()
        self._writers[partition] = writer

    async def disown(self, partition: int) -> None:
        writer = self._writers.pop(partition, None)
        if writer is not None:
            await writer.stop()
        # A snapshot whose transaction the stop cut short is never settled: the next writer of the
        # partition must not wait for it.
        saving = self._saving.pop(partition, None)
        if saving is not None:
            saving.cancel()

    def restored_to(self, partition: int, next_offset: int) -> None:
        """The partition's log was read to ``next_offset`` (see ``PartitionWriter.restored_to``)."""
        writer = self._writers.get(partition)
        if writer is not None:
            writer.restored_to(next_offset)

    def owns(self, partition: int) -> bool:
        writer = self._writers.get(partition)
        return writer is not None and not writer.fenced

    @property
    def partitions(self) -> set[int]:
        return set(self._writers)

    async def close(self) -> None:
        for partition in list(self._writers):
            await self.disown(partition)

    async def emit(
        self,
        state: AggregateState,
        payloads: Sequence[EventData],
        *,
        aggregate_id: str,
        tenant_id: str,
        command_id: str | None = None,
    ) -> list[EventEnvelope]:
        """Append ``payloads`` in order as one transaction; once it returns they are folded into
        ``state``. ``OwnershipLost`` when this worker no longer owns the aggregate's partition."""
        partition = call_partition(aggregate_id, self._settings.partitions)
        writer = self._writers.get(partition)
        if writer is None:
            raise OwnershipLost(partition)
        envelopes = [
            envelope_for(
                payload,
                aggregate_id=aggregate_id,
                tenant_id=tenant_id,
                seq=state.seq + 1 + i,
                command_id=command_id,
                command_final=i == len(payloads) - 1,
            )
            for i, payload in enumerate(payloads)
        ]
        await writer.append(envelopes)  # folded by _committed, before this returns
        with logs.bound(command_id=command_id, tenant_id=tenant_id):
            log.debug("%s appended: %s", aggregate_id, " ".join(e.type for e in envelopes))
        return envelopes

    # ------------------------------------------------------------------ snapshots
    def _committed(self, partition: int, envelopes: Sequence[EventEnvelope], next_offset: int) -> None:
        """A transaction of ``partition``'s events is committed: fold it before anyone reads the store
        again (so a snapshot taken now lacks no event before ``next_offset``)."""
        for envelope in envelopes:
            self._store.fold(envelope)
        self._store.committed(partition, next_offset, len(envelopes))
        self.snapshot_if_due(partition)

    def snapshot_if_due(self, partition: int) -> None:
        """Queue a snapshot of ``partition`` once ``snapshot_every`` events were folded since its last
        one (appended here, or read after the snapshot by a restore)."""
        if self._store.unsaved(partition) >= self._settings.snapshot_every:
            self._snapshot(partition)

    async def snapshot(self, partition: int) -> bool:
        """Write what changed on ``partition`` since its last snapshot, waiting (bounded) until it is
        committed: on giving ``partition`` up, so that its next owner reads a short tail. False when it
        was not written (not ours, fenced, the broker away)."""
        try:
            async with asyncio.timeout(self._settings.kafka_write_timeout_s):
                in_flight = self._saving.get(partition)
                if in_flight is not None:
                    await asyncio.wait([in_flight])  # whatever it did, what is left goes next
                writer = self._writers.get(partition)
                if writer is None or writer.fenced:
                    return False
                done = self._snapshot(partition)
                if done is not None:
                    await asyncio.shield(done)  # a timeout leaves the outcome to the writer
        except (OwnershipLost, AppendFailed, TimeoutError) as exc:
            log.info("partition %d: snapshot not written (%r)", partition, exc)
            return False
        return True

    def _snapshot(self, partition: int) -> asyncio.Future[None] | None:
        # One snapshot in flight per partition: a later one must not be committed over the aggregates
        # of an earlier one that fails (their older records would then pass for the later position).
        writer = self._writers.get(partition)
        if writer is None or writer.fenced or partition in self._saving:
            return None
        changes = self._store.changes(partition)
        if changes is None:
            return None
        done = writer.snapshot(changes.records)
        self._saving[partition] = done
        done.add_done_callback(functools.partial(self._saved, changes))
        return done

    def _saved(self, changes: Changes, done: asyncio.Future[None]) -> None:
        if self._saving.get(changes.partition) is done:
            del self._saving[changes.partition]
        if done.cancelled() or done.exception() is not None:
            self._store.not_saved(changes)
