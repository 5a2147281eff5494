"""Bodies of ``/calls/``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from phony_client.models._base import RequestModel, ResponseModel
from phony_client.models.events import Event

CallStatus = Literal[
    "queued", "ringing", "in-progress", "completed", "busy", "no-answer", "failed", "canceled"
]
Direction = Literal["inbound", "outbound"]
Speaker = Literal["caller", "ai", "supervisor"]


class CallCreate(RequestModel):
    """``POST /calls/``: place an outbound call with an agent."""

    agent_id: str
    to_number: str
    from_number: str | None = None
    scenario: str | None = None
    metadata: dict[str, Any] | None = None


class CallPlaced(ResponseModel):
    """``POST /calls/`` (202): the call exists and Twilio is dialling."""

    call_sid: str
    status: CallStatus | str


class Call(ResponseModel):
    """A call: its parties, agent, status, timestamps and how it ended."""

    call_sid: str
    tenant_id: str
    agent_id: str | None
    direction: Direction | str
    from_: str = Field(alias="from")
    to: str
    status: CallStatus | str
    scenario: str | None
    metadata: dict[str, Any]
    created_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration: float | None
    end_reason: str | None
    transferred_to: str | None
    awaiting_approval: list[str] = []
    open_question: str | None = None
    last_seq: int


class CallList(ResponseModel):
    """``GET /calls/``: one page, newest first."""

    calls: list[Call]
    total: int
    limit: int
    offset: int


class TranscriptEntry(ResponseModel):
    """One line of a transcript; AI lines name their response and its audio."""

    seq: int
    timestamp: datetime
    speaker: Speaker | str
    text: str
    response_id: str | None = None
    audio_url: str | None = None
    interrupted: bool | None = None


class Transcript(ResponseModel):
    call_sid: str
    entries: list[TranscriptEntry]


class CallEvents(ResponseModel):
    """``GET /calls/{call_sid}/events``: the call's log in seq order."""

    call_sid: str
    events: list[Event]
