"""Domain events: the envelope, typed payloads per aggregate, versions and the codec."""

from phony.events.base import EventData
from phony.events.codec import EVENT_CLASSES, REGISTRY, current, decode, envelope_for, payload_of
from phony.events.envelope import AggregateType, EventEnvelope, new_id, utcnow

__all__ = [
    "EVENT_CLASSES",
    "REGISTRY",
    "AggregateType",
    "EventData",
    "EventEnvelope",
    "current",
    "decode",
    "envelope_for",
    "new_id",
    "payload_of",
    "utcnow",
]
