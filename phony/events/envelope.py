"""The event envelope: what every fact on the log carries around its payload (SPEC §5)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

AggregateType = Literal["tenant", "agent", "call"]


def new_id(prefix: str) -> str:
    """A fresh opaque id such as ``agent_3f2c…`` (32 hex digits after the prefix)."""
    return f"{prefix}_{uuid.uuid4().hex}"


def utcnow() -> datetime:
    """Now, in UTC, at millisecond precision (what MongoDB keeps, so read models round-trip exactly)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class EventEnvelope(BaseModel):
    """One event as stored on the log and streamed to subscribers.

    ``seq`` counts the events of one aggregate from 1 with no gaps. ``call_sid`` / ``agent_id`` repeat
    ``aggregate_id`` under the name the seed uses for that aggregate. ``command_id`` names the command
    that caused the event and ``command_final`` marks the last event that command produced (the
    projector tells the waiting REST call once it has projected that one).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    # Causation fields, for Phony's own processes: never served to API clients (see ``public``).
    INTERNAL_FIELDS: ClassVar[frozenset[str]] = frozenset({"command_id", "command_final"})

    id: str = Field(default_factory=lambda: new_id("evt"))
    type: str
    version: int = 1
    aggregate_type: AggregateType
    aggregate_id: str
    call_sid: str | None = None
    agent_id: str | None = None
    tenant_id: str
    seq: int = Field(ge=1)
    timestamp: datetime
    data: dict[str, Any]
    command_id: str | None = None
    command_final: bool = True

    @classmethod
    def build(
        cls,
        *,
        type: str,
        version: int,
        aggregate_type: AggregateType,
        aggregate_id: str,
        tenant_id: str,
        seq: int,
        data: dict[str, Any],
        timestamp: datetime | None = None,
        command_id: str | None = None,
        command_final: bool = True,
    ) -> EventEnvelope:
        """An envelope with the aggregate's id also under its seed name (``call_sid`` / ``agent_id``)."""
        return cls(
            type=type,
            version=version,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            call_sid=aggregate_id if aggregate_type == "call" else None,
            agent_id=aggregate_id if aggregate_type == "agent" else None,
            tenant_id=tenant_id,
            seq=seq,
            timestamp=timestamp or utcnow(),
            data=data,
            command_id=command_id,
            command_final=command_final,
        )

    def to_json(self) -> bytes:
        """The wire form (JSON bytes, ``None`` fields left out)."""
        return self.model_dump_json(exclude_none=True).encode()

    def public(self) -> dict[str, Any]:
        """The form served to API clients (no internal causation fields)."""
        return self.model_dump(mode="json", exclude_none=True, exclude=set(self.INTERNAL_FIELDS))
