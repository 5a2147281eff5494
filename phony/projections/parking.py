"""Events the read-model store refuses, parked on ``<prefix>.parked`` so the projection goes on.

The store refuses an event when it answers the write with an error that retrying will not mend: a
validator an operator installed, a quota, a document over its size limit. Such an event used to be
redelivered for ever, and every event after it on its partition waited behind it: the dashboards of
every call on that partition froze. Now the projector tries it ``PHONY_PROJECTOR_ATTEMPTS`` times, then
writes it to the parked topic (the event itself, where it was on the log, and the store's reason),
commits past it and goes on. The event stays on the events topic: nothing is lost, ``phony parked``
lists what is parked and ``phony rebuild`` projects everything again once the store takes it.

An unreachable store is not a refusal: the projector waits for it for as long as it takes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord
from bson.errors import InvalidDocument
from pydantic import BaseModel, ConfigDict
from pymongo.errors import OperationFailure

from phony.config import Settings
from phony.events.log import Topics, read_topic

# Error labels of a write the store may take if asked again (a conflict, a failover).
RETRYABLE_LABELS = ("TransientTransactionError", "RetryableWriteError", "UnknownTransactionCommitResult")


def refused_by_store(exc: BaseException) -> bool:
    """Whether ``exc`` is the store refusing a write (not being out of reach, nor a passing conflict)."""
    if isinstance(exc, InvalidDocument):  # pymongo's DocumentTooLarge is one
        return True
    if isinstance(exc, OperationFailure):
        return not any(exc.has_error_label(label) for label in RETRYABLE_LABELS)
    return False


def reason_of(exc: BaseException) -> str:
    """What the store said, for the parked record and the log (its error code first, when it has one)."""
    code = getattr(exc, "code", None)
    message = str(exc).split(", full error:")[0]
    return (
        f"{type(exc).__name__} {code}: {message}" if code is not None else f"{type(exc).__name__}: {message}"
    )


class ParkedEvent(BaseModel):
    """A parked event: where it is on the events topic, the event as it is there, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    partition: int
    offset: int
    event_type: str
    aggregate_id: str
    seq: int
    reason: str
    attempts: int
    parked_at: datetime
    event: dict[str, Any]


def parked(
    record: ConsumerRecord[Any, Any], event: dict[str, Any], reason: str, attempts: int
) -> ParkedEvent:
    return ParkedEvent(
        partition=record.partition,
        offset=record.offset,
        event_type=str(event.get("type", "")),
        aggregate_id=str(event.get("aggregate_id", "")),
        seq=int(event.get("seq", 0)),
        reason=reason,
        attempts=attempts,
        parked_at=datetime.now(UTC),
        event=event,
    )


async def read_parked(settings: Settings) -> AsyncIterator[ParkedEvent]:
    """Every parked event once, oldest first per partition, up to the topic's end as of the call.

    Parking is at least once (a batch that fails after parking one of its events is redelivered and
    parks it again), so an event is told by its place on the events topic, the first record of it kept."""
    seen: set[tuple[int, int]] = set()
    topic = Topics.of(settings).parked  # a deployment that never started since parking began has none
    async for record in read_topic(settings, topic, missing_ok=True):
        entry = ParkedEvent.model_validate_json(record.value)
        if (entry.partition, entry.offset) not in seen:
            seen.add((entry.partition, entry.offset))
            yield entry
