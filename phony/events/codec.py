"""One place that maps event type names to classes, and envelopes to typed payloads and back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from phony.events.agents import AgentCreated, AgentDeleted, AgentUpdated
from phony.events.base import EventData
from phony.events.calls import CALL_EVENTS
from phony.events.envelope import EventEnvelope
from phony.events.tenants import ApiKeyIssued, ApiKeyRevoked, TenantCreated, TenantUpdated
from phony.events.upcasters import upcast

EVENT_CLASSES: tuple[type[EventData], ...] = (
    TenantCreated,
    TenantUpdated,
    ApiKeyIssued,
    ApiKeyRevoked,
    AgentCreated,
    AgentUpdated,
    AgentDeleted,
    *CALL_EVENTS,
)
REGISTRY: Mapping[str, type[EventData]] = {cls.TYPE: cls for cls in EVENT_CLASSES}


def envelope_for(
    payload: EventData,
    *,
    aggregate_id: str,
    tenant_id: str,
    seq: int,
    command_id: str | None = None,
    command_final: bool = True,
    timestamp: datetime | None = None,
) -> EventEnvelope:
    """Wrap a payload at its current version for the log."""
    return EventEnvelope.build(
        type=payload.TYPE,
        version=payload.VERSION,
        aggregate_type=payload.AGGREGATE,
        aggregate_id=aggregate_id,
        tenant_id=tenant_id,
        seq=seq,
        data=payload.model_dump(mode="json", by_alias=True),
        timestamp=timestamp,
        command_id=command_id,
        command_final=command_final,
    )


def current(envelope: EventEnvelope) -> EventEnvelope:
    """The envelope with its payload upcast to the version this build writes."""
    cls = REGISTRY.get(envelope.type)
    if cls is None or envelope.version == cls.VERSION:
        return envelope
    data = upcast(envelope.type, envelope.version, envelope.data, cls.VERSION)
    return envelope.model_copy(update={"data": data, "version": cls.VERSION})


def payload_of(envelope: EventEnvelope) -> EventData:
    """The typed payload of an envelope (upcast first); ``KeyError`` for an unknown type."""
    cls = REGISTRY[envelope.type]
    return cls.model_validate(current(envelope).data)


def decode(raw: bytes) -> EventEnvelope:
    """An envelope from its wire form, upcast to the current version."""
    return current(EventEnvelope.model_validate_json(raw))
