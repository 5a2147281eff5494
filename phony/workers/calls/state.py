"""A call's state, folded from its events alone: everything ``decide_call`` needs, so a worker that
takes a call over (after its owner died) knows as much as the owner did."""

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
    CommandExecuted,
    DtmfSent,
    ErrorOccurred,
    HeldCommand,
    LlmCommandName,
    MediaStarted,
    ResponseApproved,
    ResponsePendingApproval,
    SpeechDetected,
    SupervisorTextSent,
)
from phony.workers.decisions import AggregateState

TELEPHONY_ERROR = "TELEPHONY_ERROR"
NOTE = "note"  # a transcript entry the model was told, not anyone's words on the line


@dataclass(frozen=True)
class HeldReply:
    """A reply waiting for the supervisor's approval, and the commands it carries."""

    text: str
    commands: tuple[HeldCommand, ...] = ()


@dataclass(frozen=True)
class PendingAction:
    """An LLM command accepted (``command.executed``) whose Twilio part has not been recorded yet:
    a worker taking the call over carries it out."""

    command: LlmCommandName
    argument: str | None


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
    awaiting_stream: bool = False  # digits were sent: Twilio replaces the stream
    transferring: bool = False
    # (speaker, text): caller, ai, supervisor (spoken by the AI) or NOTE (told to the model)
    transcript: list[tuple[str, str]] = field(default_factory=list)
    held: dict[str, HeldReply] = field(default_factory=dict)  # response id -> reply
    clarification: str | None = None  # the open question, while the AI waits for the supervisor
    clarification_call_id: str | None = None  # the function call that asked it (None: a marker)
    refusals: int = 0  # LLM commands refused on this call
    pending: PendingAction | None = None

    @property
    def live(self) -> bool:
        """Started and not ended: supervisor commands apply."""
        return self.exists and not self.ended

    @property
    def media_started(self) -> bool:
        return self.stream_sid is not None

    @property
    def paused(self) -> bool:
        """The AI waits for its supervisor's answer (it hears the caller but does not reply)."""
        return self.clarification is not None

    @property
    def pending_approval(self) -> dict[str, str]:
        """Held replies' words by response id."""
        return {rid: reply.text for rid, reply in self.held.items()}


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
            state.awaiting_stream = False
            state.status = "in-progress"
            state.answered_at = state.answered_at or state.updated_at
        case SpeechDetected():
            state.transcript.append((data.speaker, data.text))
        case AiResponse():
            state.transcript.append(("ai", data.text))
            state.held.pop(data.response_id, None)
        case SupervisorTextSent():
            state.transcript.append(("supervisor", data.text))
        case ResponsePendingApproval():
            state.held[data.response_id] = HeldReply(data.text, data.commands)
        case ResponseApproved():
            state.held.pop(data.response_id, None)
        case ClarificationRequested():
            state.clarification = data.question
            state.clarification_call_id = data.call_id
        case ClarificationAnswered():
            state.transcript.append((NOTE, f"Your supervisor answered your question: {data.response}"))
            state.clarification = state.clarification_call_id = None
        case CommandExecuted():
            _fold_command(state, data)
        case DtmfSent():
            state.awaiting_stream = True
            state.pending = None
        case ErrorOccurred() if data.code == TELEPHONY_ERROR:
            state.pending = None
        case CallTransferred():
            state.transferring = True
            state.pending = None
        case CallEnded():
            state.ended, state.end_reason = True, data.reason
            state.status = _FINAL_STATUS.get(data.reason, "completed")
            state.pending = None


def _fold_command(state: CallState, data: CommandExecuted) -> None:
    if not data.accepted:
        state.refusals += 1
    elif data.command in ("end_call", "transfer", "press") and data.source != "supervisor":
        state.pending = PendingAction(data.command, data.argument)


_FINAL_STATUS = {"busy": "busy", "no_answer": "no-answer", "failed": "failed", "canceled": "canceled"}


def duration_s(state: CallState, until: datetime) -> float:
    """Seconds the call was connected (0 if it never was), to ``until``."""
    if state.answered_at is None:
        return 0.0
    return round(max(0.0, (until - state.answered_at).total_seconds()), 3)
