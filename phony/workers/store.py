"""The worker's in-memory state of the aggregates on its partitions, restored from the log.

The worker owning partition *p* is the single writer of the events of every aggregate keyed to *p*.
When it first sees a command from *p* it folds *p*'s events from the log (like a Kafka Streams
changelog), so after a restart or rebalance it continues with the next ``seq``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from phony.config import Settings
from phony.events import AggregateType, EventData, EventEnvelope, payload_of
from phony.events.log import partition_for, read_log
from phony.workers.agents import AgentState, fold_agent
from phony.workers.decisions import AggregateState
from phony.workers.tenants import TenantState, fold_tenant

log = logging.getLogger(__name__)

Fold = Callable[[Any, EventData], None]


class AggregateStore:
    """States by aggregate id, per partition, with the fold for each aggregate type."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._states: dict[str, AggregateState] = {}
        self._restored: set[int] = set()
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
        """Fold partition ``partition``'s events (committed ones: the log's truth); returns the ids of
        the aggregates it holds."""
        self.forget({partition})
        count = 0
        seen: set[str] = set()
        async for logged in read_log(self._settings, partitions=[partition]):
            self.fold(logged.event)
            seen.add(logged.event.aggregate_id)
            count += 1
        self._restored.add(partition)
        log.info("restored partition %d from %d events", partition, count)
        return sorted(seen)

    def states(self, partition: int) -> dict[str, AggregateState]:
        """The aggregates of ``partition`` this worker knows, by id."""
        parts = self._settings.partitions
        return {a: s for a, s in self._states.items() if partition_for(a, parts) == partition}

    def replace(self, aggregate_id: str, state: AggregateState) -> None:
        """Put a smaller state in place of an aggregate's (an ended call keeps only what late
        commands need: its ``seq``, tenant and end)."""
        self._states[aggregate_id] = state

    def forget(self, partitions: set[int]) -> None:
        """Drop what we know of partitions another worker now owns (it will restore them itself)."""
        self._restored -= partitions
        for aggregate_id in [
            a for a in self._states if partition_for(a, self._settings.partitions) in partitions
        ]:
            del self._states[aggregate_id]

    def get(self, aggregate_type: AggregateType, aggregate_id: str) -> AggregateState:
        """The state of an aggregate (an empty one, ``seq`` 0, if it has no events yet)."""
        state = self._states.get(aggregate_id)
        if state is None:
            state = self._states[aggregate_id] = self._folds[aggregate_type][0]()
        return state

    def fold(self, event: EventEnvelope) -> None:
        """Apply one event; events at or below the known ``seq`` are ignored (already folded)."""
        state = self.get(event.aggregate_type, event.aggregate_id)
        if event.seq <= state.seq:
            return
        if event.seq != state.seq + 1:
            log.error("seq gap on %s: have %d, got %d", event.aggregate_id, state.seq, event.seq)
        state.seq = event.seq
        state.tenant_id = event.tenant_id
        state.updated_at = event.timestamp
        if event.command_id and event.command_final:
            state.commands.add(event.command_id)
        self._folds[event.aggregate_type][1](state, payload_of(event))
