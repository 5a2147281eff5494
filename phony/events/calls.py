"""Facts about calls (one aggregate per call, keyed by ``call_sid``; SPEC §5 names and fields)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from phony.events.agents import AgentSettings
from phony.events.base import EventData
from phony.events.envelope import AggregateType

Direction = Literal["inbound", "outbound"]
LlmCommandName = Literal["transfer", "end_call", "press", "request_user"]
# The tenant of calls to a number no agent answers: they are recorded, but no tenant sees them.
UNROUTED_TENANT = "_unrouted"
EndReason = Literal[
    "completed",
    "caller_hangup",
    "ai_ended",
    "supervisor_ended",
    "transferred",
    "no_answer",
    "busy",
    "failed",
    "canceled",
    "model_error",
    "no_agent",
]


class _CallEvent(EventData):
    AGGREGATE: ClassVar[AggregateType] = "call"


class CallStarted(_CallEvent):
    """A call exists: an inbound call arrived or an outbound call was placed."""

    TYPE: ClassVar[str] = "call.started"
    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="forbid")
    callSid: str
    from_: str = Field(alias="from")
    to: str
    timestamp: str
    direction: Direction
    agent_id: str | None
    scenario: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    # The agent's settings as they were when the call started: the call is self-contained (a worker
    # restoring it needs nothing else) and the audit shows which prompt was used.
    agent: AgentSettings | None = None


class CallRinging(_CallEvent):
    TYPE: ClassVar[str] = "call.ringing"


class CallAnswered(_CallEvent):
    TYPE: ClassVar[str] = "call.answered"


class MediaStarted(_CallEvent):
    """Twilio opened the media stream; the model session is being set up."""

    TYPE: ClassVar[str] = "media.started"
    stream_sid: str


class SpeechDetected(_CallEvent):
    TYPE: ClassVar[str] = "speech.detected"
    text: str
    speaker: Literal["caller", "ai", "supervisor"]
    confidence: float | None = None
    item_id: str | None = None


class AiResponse(_CallEvent):
    TYPE: ClassVar[str] = "ai.response"
    response_id: str
    text: str
    audio_url: str | None
    model: str
    interrupted: bool = False
    audio_ms: int = 0


class ResponseInterrupted(_CallEvent):
    """The caller spoke over the AI: playback was cleared and the model told how much was heard."""

    TYPE: ClassVar[str] = "response.interrupted"
    response_id: str
    played_ms: int


class HeldCommand(BaseModel):
    """An LLM command a held reply carries: carried out when the reply is approved."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    command: LlmCommandName
    argument: str | None = None
    source: Literal["tool", "marker"]
    call_id: str | None = None  # the function call to answer (tools)


class ResponsePendingApproval(_CallEvent):
    """A reply waits for the supervisor: its words, and the commands it carries (so a worker that
    takes the call over can still carry them out once it is approved)."""

    TYPE: ClassVar[str] = "response.pending_approval"
    response_id: str
    text: str
    commands: tuple[HeldCommand, ...] = ()


class ResponseApproved(_CallEvent):
    TYPE: ClassVar[str] = "response.approved"
    response_id: str
    text: str


class CommandExecuted(_CallEvent):
    """An LLM command (tool call or ``[[...]]`` marker) was carried out or refused."""

    TYPE: ClassVar[str] = "command.executed"
    command: LlmCommandName
    argument: str | None = None
    source: Literal["tool", "marker", "supervisor"]
    accepted: bool = True
    reason: str | None = None


class CallTransferred(_CallEvent):
    TYPE: ClassVar[str] = "call.transferred"
    target: str
    by: Literal["ai", "supervisor"]


class DtmfSent(_CallEvent):
    TYPE: ClassVar[str] = "dtmf.sent"
    digits: str
    by: Literal["ai", "supervisor"]


class DtmfReceived(_CallEvent):
    TYPE: ClassVar[str] = "dtmf.received"
    digit: str


class SupervisorTextSent(_CallEvent):
    TYPE: ClassVar[str] = "supervisor.text_sent"
    text: str


class ClarificationRequested(_CallEvent):
    TYPE: ClassVar[str] = "clarification.requested"
    question: str
    call_id: str | None = None


class ClarificationAnswered(_CallEvent):
    TYPE: ClassVar[str] = "clarification.answered"
    response: str


class LatencyMeasured(_CallEvent):
    """Caller stopped speaking -> first byte of the model's audio back at the worker."""

    TYPE: ClassVar[str] = "latency.measured"
    metric: str
    ms: float


class ErrorOccurred(_CallEvent):
    TYPE: ClassVar[str] = "error.occurred"
    error_type: str
    message: str
    code: str


class CallEnded(_CallEvent):
    TYPE: ClassVar[str] = "call.ended"
    callSid: str
    duration: float
    reason: EndReason


CALL_EVENTS: tuple[type[EventData], ...] = (
    CallStarted,
    CallRinging,
    CallAnswered,
    MediaStarted,
    SpeechDetected,
    AiResponse,
    ResponseInterrupted,
    ResponsePendingApproval,
    ResponseApproved,
    CommandExecuted,
    CallTransferred,
    DtmfSent,
    DtmfReceived,
    SupervisorTextSent,
    ClarificationRequested,
    ClarificationAnswered,
    LatencyMeasured,
    ErrorOccurred,
    CallEnded,
)
