"""A call's state, folded from its events (the same fold restores a call on another worker)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from phony.events import EventData
from phony.events.agents import AgentSettings
from phony.events.calls import (
    AiResponse,
    CallAnswered,
    CallEnded,
    CallRinging,
    CallStarted,
    CallTransferred,
    ClarificationAnswered,
    ClarificationRequested,
    MediaStarted,
    ResponseApproved,
    ResponsePendingApproval,
    SpeechDetected,
    SupervisorTextSent,
)
from phony.workers.decisions import AggregateState


@dataclass
class CallState(AggregateState):
    agent_id: str | None = None
    agent: AgentSettings | None = None
    direction: str = ""
    from_number: str = ""
    to_number: str = ""
    scenario: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    status: str = "queued"
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended: bool = False
    end_reason: str | None = None
    stream_sid: str | None = None
    transferring: bool = False
    transcript: list[tuple[str, str]] = field(default_factory=list)  # (speaker, text), for restores
    pending_approval: dict[str, str] = field(default_factory=dict)  # response id -> text
    clarification: str | None = None  # the open question, while the AI waits for the supervisor

    @property
    def live(self) -> bool:
        """Started and not ended: supervisor commands apply."""
        return self.exists and not self.ended


def fold_call(state: CallState, data: EventData) -> None:
    """Apply one call event to the state."""
    match data:
        case CallStarted():
            state.agent_id, state.agent = data.agent_id, data.agent
            state.direction, state.from_number, state.to_number = data.direction, data.from_, data.to
            state.scenario, state.metadata = data.scenario, dict(data.metadata)
            state.started_at = state.updated_at
            state.status = "ringing" if data.direction == "inbound" else "queued"
        case CallRinging():
            state.status = "ringing"
        case CallAnswered():
            state.status = "in-progress"
            state.answered_at = state.answered_at or state.updated_at
        case MediaStarted():
            state.stream_sid = data.stream_sid
            state.status = "in-progress"
            state.answered_at = state.answered_at or state.updated_at
        case SpeechDetected():
            state.transcript.append((data.speaker, data.text))
        case AiResponse():
            state.transcript.append(("ai", data.text))
            state.pending_approval.pop(data.response_id, None)
        case SupervisorTextSent():
            state.transcript.append(("supervisor", data.text))
        case ResponsePendingApproval():
            state.pending_approval[data.response_id] = data.text
        case ResponseApproved():
            state.pending_approval.pop(data.response_id, None)
        case ClarificationRequested():
            state.clarification = data.question
        case ClarificationAnswered():
            state.clarification = None
        case CallTransferred():
            state.transferring = True
        case CallEnded():
            state.ended, state.end_reason = True, data.reason
            state.status = _FINAL_STATUS.get(data.reason, "completed")


_FINAL_STATUS = {"busy": "busy", "no_answer": "no-answer", "failed": "failed", "canceled": "canceled"}


def duration_s(state: CallState, until: datetime) -> float:
    """Seconds the call was connected (0 if it never was), to ``until``."""
    if state.answered_at is None:
        return 0.0
    return round(max(0.0, (until - state.answered_at).total_seconds()), 3)


def call_ended(state: AggregateState) -> bool:
    """Whether ``state`` is a call that has ended (the writer's check before an ending event)."""
    return isinstance(state, CallState) and state.ended
