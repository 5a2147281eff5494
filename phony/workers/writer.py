"""Appends an aggregate's new events to the log with the next ``seq`` numbers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from faststream.kafka import KafkaBroker

from phony.config import Settings
from phony.events import EventData, EventEnvelope, envelope_for
from phony.events.log import Topics
from phony.workers.decisions import AggregateState
from phony.workers.store import AggregateStore


class EventWriter:
    """The single writer of the aggregates on this worker's partitions."""

    def __init__(self, settings: Settings, broker: KafkaBroker, store: AggregateStore) -> None:
        self._broker = broker
        self._store = store
        self._topic = Topics.of(settings).events

    async def emit(
        self,
        state: AggregateState,
        payloads: Sequence[EventData],
        *,
        aggregate_id: str,
        tenant_id: str,
        command_id: str | None = None,
        unless: Callable[[AggregateState], bool] | None = None,
    ) -> list[EventEnvelope]:
        """Publish ``payloads`` in order (each acknowledged by Kafka before the next), folding each
        into ``state`` once it is durable; nothing if ``unless(state)`` holds once this writer has the
        aggregate (a decision made before an await may be stale by then)."""
        out: list[EventEnvelope] = []
        async with state.lock:
            if unless is not None and unless(state):
                return out
            for i, payload in enumerate(payloads):
                envelope = envelope_for(
                    payload,
                    aggregate_id=aggregate_id,
                    tenant_id=tenant_id,
                    seq=state.seq + 1,
                    command_id=command_id,
                    command_final=i == len(payloads) - 1,
                )
                await self._broker.publish(envelope.to_json(), self._topic, key=aggregate_id.encode())
                self._store.fold(envelope)
                out.append(envelope)
        return out
