"""The stored copy of every event: written by the projector, read by ``GET /calls/{sid}/events``, the
transcript, and the events WebSocket's replay and gap repair.

One document per event, keyed ``<aggregate_id>:<seq>``: a call's history is one ``_id`` range, in seq
order, on any MongoDB server (``queries.call_events``). Each keeps the event's public JSON text, which
is what the events WebSocket sends, so a replayed event is the same bytes as the live one.
"""

from __future__ import annotations

from phony.events import EventEnvelope, current
from phony.projections import queries
from phony.projections.documents import StoredEvent, stored_event_id


def public_json(event: EventEnvelope) -> str:
    """The JSON text of ``event``'s public form (``EventEnvelope.public()``): what clients receive."""
    return event.model_dump_json(exclude_none=True, exclude={"command_id", "command_final"})


def stored(event: EventEnvelope) -> StoredEvent:
    """The stored copy of ``event``."""
    return StoredEvent(
        id=stored_event_id(event.aggregate_id, event.seq),
        aggregate_type=event.aggregate_type,
        aggregate_id=event.aggregate_id,
        tenant_id=event.tenant_id,
        seq=event.seq,
        type=event.type,
        timestamp=event.timestamp,
        event=public_json(event),
    )


async def read_events(call_sid: str, after: int, upto: int) -> list[EventEnvelope]:
    """The stored events of a call with ``after < seq <= upto``, in seq order, upcast to the current
    versions (each is kept as it was projected)."""
    if upto <= after:
        return []
    docs = await queries.call_events(call_sid, after, upto).all()
    return [current(EventEnvelope.model_validate_json(doc["event"])) for doc in docs]
