"""The worker's in-memory state of the aggregates on its partitions, restored from the log.

The worker owning partition *p* is the single writer of the events of every aggregate keyed to *p*.
When it takes *p* over it loads *p*'s latest snapshot and folds the events after it (like a Kafka
Streams changelog; see :mod:`phony.workers.snapshots`), so after a restart or rebalance it continues
with the next ``seq``. The store keeps what a snapshot needs: which states changed since the last one,
and the events offset its states are valid up to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from phony.config import Settings
from phony.events import AggregateType, EventData, EventEnvelope, payload_of
from phony.events.log import partition_for, read_log
from phony.workers.agents import AgentState, fold_agent
from phony.workers.decisions import AggregateState
from phony.workers.snapshots import MAX_RECORD_BYTES, Changes, position_record, read_snapshot, state_record
from phony.workers.tenants import TenantState, fold_tenant

log = logging.getLogger(__name__)

Fold = Callable[[Any, EventData], None]


@dataclass
class _Progress:
    """A restored partition's place: the events offset its states are valid up to, and how many
    events were folded since its last snapshot."""

    next_offset: int = 0
    unsaved: int = 0


class AggregateStore:
    """States by aggregate id, per partition, with the fold for each aggregate type."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._states: dict[str, AggregateState] = {}
        self._restored: set[int] = set()
        # The ids on each partition: a partition's states are found without hashing every id (aiokafka's
        # murmur2 is pure Python, about 7 µs an id, and a partition holds every call it ever had).
        self._ids: dict[int, set[str]] = {}
        self._dirty: set[str] = set()  # aggregates changed since their partition's last snapshot
        self._progress: dict[int, _Progress] = {}
        self._folds: dict[AggregateType, tuple[Callable[[], AggregateState], Fold]] = {
            "tenant": (TenantState, fold_tenant),
            "agent": (AgentState, fold_agent),
        }

    def register(
        self, aggregate_type: AggregateType, factory: Callable[[], AggregateState], fold: Fold
    ) -> None:
        """Add an aggregate type (the call worker registers calls)."""
        self._folds[aggregate_type] = (factory, fold)

    async def restore(self, partition: int) -> list[str]:
        """Load partition ``partition``'s latest snapshot, if any, and fold the events after it
        (committed ones: the log's truth); returns the ids of the aggregates it holds."""
        self.forget({partition})
        seen: set[str] = set()
        progress = _Progress()
        snapshot = await read_snapshot(self._settings, partition)
        if snapshot is not None:
            self._states.update(snapshot.states)
            self._ids.setdefault(partition, set()).update(snapshot.states)
            seen.update(snapshot.states)
            progress.next_offset = snapshot.next_offset
        start = progress.next_offset
        async for logged in read_log(self._settings, partitions=[partition], from_offsets={partition: start}):
            self.fold(logged.event)
            seen.add(logged.event.aggregate_id)
            progress.next_offset = logged.offset + 1
            progress.unsaved += 1
        self._progress[partition] = progress
        self._restored.add(partition)
        log.debug(
            "restored partition %d: a snapshot of %d aggregates to offset %d, and %d events after it",
            partition,
            len(snapshot.states) if snapshot is not None else 0,
            start,
            progress.unsaved,
        )
        return sorted(seen)

    def states(self, partition: int) -> dict[str, AggregateState]:
        """The aggregates of ``partition`` this worker knows, by id."""
        return {a: s for a in self._ids.get(partition, ()) if (s := self._states.get(a)) is not None}

    def discard(self, aggregate_id: str) -> None:
        """Forget an aggregate that has no events (a command for one that does not exist)."""
        state = self._states.get(aggregate_id)
        if state is not None and not state.exists:
            del self._states[aggregate_id]
            for ids in self._ids.values():
                ids.discard(aggregate_id)
            self._dirty.discard(aggregate_id)

    def replace(self, aggregate_id: str, state: AggregateState) -> None:
        """Put a smaller state in place of an aggregate's (an ended call keeps only what late
        commands need: its ``seq``, tenant and end)."""
        old = self._states.get(aggregate_id)
        if old is None:
            self._index(aggregate_id)
        if old != state:
            self._dirty.add(aggregate_id)  # the next snapshot stores the smaller state
        self._states[aggregate_id] = state

    def forget(self, partitions: set[int]) -> None:
        """Drop what we know of partitions another worker now owns (it will restore them itself)."""
        self._restored -= partitions
        for partition in partitions:
            ids = self._ids.pop(partition, set())
            for aggregate_id in ids:
                self._states.pop(aggregate_id, None)  # None: discarded, its id left in the index
            self._dirty -= ids
            self._progress.pop(partition, None)

    def get(self, aggregate_type: AggregateType, aggregate_id: str) -> AggregateState:
        """The state of an aggregate (an empty one, ``seq`` 0, if it has no events yet)."""
        state = self._states.get(aggregate_id)
        if state is None:
            state = self._states[aggregate_id] = self._folds[aggregate_type][0]()
            self._index(aggregate_id)
        return state

    def _index(self, aggregate_id: str) -> None:
        partition = partition_for(aggregate_id, self._settings.partitions)
        self._ids.setdefault(partition, set()).add(aggregate_id)

    def fold(self, event: EventEnvelope) -> None:
        """Apply one event; events at or below the known ``seq`` are ignored (already folded)."""
        state = self.get(event.aggregate_type, event.aggregate_id)
        if event.seq <= state.seq:
            return
        if event.seq != state.seq + 1:
            log.error("seq gap on %s: have %d, got %d", event.aggregate_id, state.seq, event.seq)
        self._dirty.add(event.aggregate_id)
        state.seq = event.seq
        state.tenant_id = event.tenant_id
        state.updated_at = event.timestamp
        if event.command_id and event.command_final:
            state.commands.add(event.command_id)
        self._folds[event.aggregate_type][1](state, payload_of(event))

    # ------------------------------------------------------------------ snapshots
    def committed(self, partition: int, next_offset: int, events: int) -> None:
        """The owner's writer committed ``events`` more events to ``partition`` (folded already), the
        last just before ``next_offset``."""
        progress = self._progress.setdefault(partition, _Progress())
        progress.next_offset = max(progress.next_offset, next_offset)
        progress.unsaved += events

    def next_offset(self, partition: int) -> int:
        """The events offset after the last event folded for ``partition``."""
        progress = self._progress.get(partition)
        return progress.next_offset if progress is not None else 0

    def unsaved(self, partition: int) -> int:
        """Events folded on ``partition`` since its last snapshot was taken."""
        progress = self._progress.get(partition)
        return progress.unsaved if progress is not None else 0

    def changes(self, partition: int) -> Changes | None:
        """Take the next snapshot of ``partition``: the records of its states changed since the last
        one, and its position. They count as saved from now on (:meth:`not_saved` if they were not).
        None when nothing changed, or when a state is too large for a record (the partition is then
        restored from an older snapshot, with a longer tail, until that aggregate is smaller)."""
        progress = self._progress.get(partition)
        if partition not in self._restored or progress is None:
            return None
        ids = frozenset(self._dirty & self._ids.get(partition, set()))
        if not ids and progress.unsaved == 0:
            return None
        records = [state_record(a, self._states[a]) for a in sorted(ids) if a in self._states]
        large = [key for key, value, _ in records if len(value) > MAX_RECORD_BYTES]
        if large:
            log.warning("partition %d: no snapshot, %r too large for a record", partition, large[0])
            progress.unsaved = 0  # try again after as many events more
            return None
        records.append(position_record(progress.next_offset))
        changes = Changes(partition, ids, progress.unsaved, tuple(records))
        self._dirty -= ids
        progress.unsaved = 0
        return changes

    def not_saved(self, changes: Changes) -> None:
        """A snapshot taken by :meth:`changes` was not written: the next one writes its states."""
        progress = self._progress.get(changes.partition)
        if progress is None:  # given up meanwhile: its next owner restores it itself
            return
        self._dirty.update(a for a in changes.ids if a in self._states)
        progress.unsaved += changes.events
