"""Response bodies of the call read routes (``GET /calls/...``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from phony.events.calls import Direction
from phony.projections.transcript import TranscriptEntry

CallStatus = Literal[
    "queued", "ringing", "in-progress", "completed", "busy", "no-answer", "failed", "canceled"
]


class CallOut(BaseModel):
    """A call as the API shows it (``from`` and ``to`` as in the seed's call events)."""

    model_config = ConfigDict(populate_by_name=True)

    call_sid: str
    tenant_id: str
    agent_id: str | None
    direction: Direction
    from_: str = Field(alias="from")
    to: str
    status: CallStatus
    scenario: str | None
    metadata: dict[str, Any]
    created_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration: float | None = Field(description="Seconds, once the call ended")
    end_reason: str | None
    transferred_to: str | None
    awaiting_approval: list[str] = Field(
        default_factory=list, description="Replies held for /override/approve (require_approval)"
    )
    open_question: str | None = Field(None, description="The AI's question for /override/clarification")
    last_seq: int = Field(description="seq of the call's latest event (resume streams with since=)")


class CallList(BaseModel):
    calls: list[CallOut]
    total: int
    limit: int
    offset: int


class Transcript(BaseModel):
    call_sid: str
    entries: list[TranscriptEntry]


class PublicEvent(BaseModel):
    """One event in its public envelope form (as on the events WebSocket)."""

    id: str
    type: str
    version: int
    aggregate_type: str
    aggregate_id: str
    call_sid: str | None = None
    tenant_id: str
    seq: int
    timestamp: datetime
    data: dict[str, Any]


class CallEvents(BaseModel):
    call_sid: str
    events: list[PublicEvent]
