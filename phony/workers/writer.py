"""Appends an aggregate's new events to the log with the next ``seq`` numbers, through the writer of
the aggregate's partition (see :mod:`phony.workers.partition_writer`)."""

from __future__ import annotations

from collections.abc import Sequence

from phony.commands.audio import call_partition
from phony.config import Settings
from phony.events import EventData, EventEnvelope, envelope_for
from phony.workers.decisions import AggregateState
from phony.workers.partition_writer import OwnershipLost, PartitionWriter
from phony.workers.store import AggregateStore


class EventWriter:
    """The single writer of the aggregates on this worker's partitions. Each aggregate has one caller
    of :meth:`emit` at a time (its actor, or the admin handler's in-order loop), so the next ``seq`` is
    the state's plus one without a lock."""

    def __init__(self, settings: Settings, store: AggregateStore) -> None:
        self._settings = settings
        self._store = store
        self._writers: dict[int, PartitionWriter] = {}

    async def own(self, partition: int) -> None:
        """Become the writer of ``partition`` (fencing its previous owner)."""
        await self.disown(partition)
        writer = PartitionWriter(self._settings, partition)
        await writer.start()
        self._writers[partition] = writer

    async def disown(self, partition: int) -> None:
        writer = self._writers.pop(partition, None)
        if writer is not None:
            await writer.stop()

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
        """Append ``payloads`` in order as one transaction, then fold them into ``state``.
        ``OwnershipLost`` when this worker no longer owns the aggregate's partition."""
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
        await writer.append(envelopes)
        for envelope in envelopes:
            self._store.fold(envelope)
        return envelopes
