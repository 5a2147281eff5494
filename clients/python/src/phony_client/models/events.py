"""Call events: the envelope, one payload model per event type the server defines, and
:data:`Event`, their union keyed by ``type``.

An event of a type this client does not know, or whose payload no longer fits its model (a newer
server), is read as :class:`UnknownEvent` with its raw ``data``: a newer server never breaks an
older client.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from phony_client.models._base import ResponseModel
from phony_client.models.agents import AgentSettings

LlmCommand = Literal["transfer", "end_call", "press", "request_user"]
By = Literal["ai", "supervisor"]


# -- payloads (``event.data``) -------------------------------------------------------------------


class CallStartedData(ResponseModel):
    callSid: str
    from_: str = Field(alias="from")
    to: str
    timestamp: str
    direction: Literal["inbound", "outbound"]
    agent_id: str | None
    scenario: str | None = None
    metadata: dict[str, Any] = {}
    agent: AgentSettings | None = None


class EmptyData(ResponseModel):
    """The payload of events that carry nothing but their type (``call.ringing``, ``call.answered``)."""


class MediaStartedData(ResponseModel):
    stream_sid: str


class SpeechDetectedData(ResponseModel):
    text: str
    speaker: Literal["caller", "ai", "supervisor"]
    confidence: float | None = None
    item_id: str | None = None


class AiResponseData(ResponseModel):
    response_id: str
    text: str
    audio_url: str | None
    model: str
    interrupted: bool = False
    audio_ms: int = 0


class ResponseInterruptedData(ResponseModel):
    response_id: str
    played_ms: int


class HeldCommand(ResponseModel):
    command: LlmCommand
    argument: str | None = None
    source: Literal["tool", "marker"]
    call_id: str | None = None


class ResponsePendingApprovalData(ResponseModel):
    response_id: str
    text: str
    commands: list[HeldCommand] = []


class ResponseApprovedData(ResponseModel):
    response_id: str
    text: str


class CommandExecutedData(ResponseModel):
    command: LlmCommand
    argument: str | None = None
    source: Literal["tool", "marker", "supervisor"]
    accepted: bool = True
    reason: str | None = None


class CallTransferredData(ResponseModel):
    target: str
    by: By


class DtmfSentData(ResponseModel):
    digits: str
    by: By


class DtmfReceivedData(ResponseModel):
    digit: str


class SupervisorTextSentData(ResponseModel):
    text: str


class ClarificationRequestedData(ResponseModel):
    question: str
    call_id: str | None = None


class ClarificationAnsweredData(ResponseModel):
    response: str


class LatencyMeasuredData(ResponseModel):
    metric: str
    ms: float


class ErrorOccurredData(ResponseModel):
    error_type: str
    message: str
    code: str


class CallEndedData(ResponseModel):
    callSid: str
    duration: float
    reason: str


# -- envelopes -----------------------------------------------------------------------------------


class BaseEvent(ResponseModel):
    """The envelope every event has. ``seq`` counts one call's events from 1 with no gaps."""

    id: str
    type: str
    version: int
    aggregate_type: str
    aggregate_id: str
    call_sid: str | None = None
    tenant_id: str
    seq: int
    timestamp: datetime


class CallStartedEvent(BaseEvent):
    type: Literal["call.started"]
    data: CallStartedData


class CallRingingEvent(BaseEvent):
    type: Literal["call.ringing"]
    data: EmptyData


class CallAnsweredEvent(BaseEvent):
    type: Literal["call.answered"]
    data: EmptyData


class MediaStartedEvent(BaseEvent):
    type: Literal["media.started"]
    data: MediaStartedData


class SpeechDetectedEvent(BaseEvent):
    type: Literal["speech.detected"]
    data: SpeechDetectedData


class AiResponseEvent(BaseEvent):
    type: Literal["ai.response"]
    data: AiResponseData


class ResponseInterruptedEvent(BaseEvent):
    type: Literal["response.interrupted"]
    data: ResponseInterruptedData


class ResponsePendingApprovalEvent(BaseEvent):
    type: Literal["response.pending_approval"]
    data: ResponsePendingApprovalData


class ResponseApprovedEvent(BaseEvent):
    type: Literal["response.approved"]
    data: ResponseApprovedData


class CommandExecutedEvent(BaseEvent):
    type: Literal["command.executed"]
    data: CommandExecutedData


class CallTransferredEvent(BaseEvent):
    type: Literal["call.transferred"]
    data: CallTransferredData


class DtmfSentEvent(BaseEvent):
    type: Literal["dtmf.sent"]
    data: DtmfSentData


class DtmfReceivedEvent(BaseEvent):
    type: Literal["dtmf.received"]
    data: DtmfReceivedData


class SupervisorTextSentEvent(BaseEvent):
    type: Literal["supervisor.text_sent"]
    data: SupervisorTextSentData


class ClarificationRequestedEvent(BaseEvent):
    type: Literal["clarification.requested"]
    data: ClarificationRequestedData


class ClarificationAnsweredEvent(BaseEvent):
    type: Literal["clarification.answered"]
    data: ClarificationAnsweredData


class LatencyMeasuredEvent(BaseEvent):
    type: Literal["latency.measured"]
    data: LatencyMeasuredData


class ErrorOccurredEvent(BaseEvent):
    type: Literal["error.occurred"]
    data: ErrorOccurredData


class CallEndedEvent(BaseEvent):
    type: Literal["call.ended"]
    data: CallEndedData


class UnknownEvent(BaseEvent):
    """An event this client has no model for (or whose payload changed): ``data`` as sent."""

    data: dict[str, Any]


KNOWN_EVENTS: tuple[type[BaseEvent], ...] = (
    CallStartedEvent,
    CallRingingEvent,
    CallAnsweredEvent,
    MediaStartedEvent,
    SpeechDetectedEvent,
    AiResponseEvent,
    ResponseInterruptedEvent,
    ResponsePendingApprovalEvent,
    ResponseApprovedEvent,
    CommandExecutedEvent,
    CallTransferredEvent,
    DtmfSentEvent,
    DtmfReceivedEvent,
    SupervisorTextSentEvent,
    ClarificationRequestedEvent,
    ClarificationAnsweredEvent,
    LatencyMeasuredEvent,
    ErrorOccurredEvent,
    CallEndedEvent,
)


def _type_of(cls: type[BaseEvent]) -> str:
    (name,) = get_args(cls.model_fields["type"].annotation)
    return str(name)


EVENT_CLASSES: dict[str, type[BaseEvent]] = {_type_of(cls): cls for cls in KNOWN_EVENTS}
_UNKNOWN = "*unknown*"


def _tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if isinstance(kind, str) and kind in EVENT_CLASSES else _UNKNOWN


def _or_unknown(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A known type whose payload does not fit its model (a newer version) is an UnknownEvent."""
    try:
        return handler(value)
    except ValidationError:
        if isinstance(value, dict) and _tag(value) != _UNKNOWN:
            return UnknownEvent.model_validate(value)
        raise


Event = Annotated[
    Annotated[CallStartedEvent, Tag("call.started")]
    | Annotated[CallRingingEvent, Tag("call.ringing")]
    | Annotated[CallAnsweredEvent, Tag("call.answered")]
    | Annotated[MediaStartedEvent, Tag("media.started")]
    | Annotated[SpeechDetectedEvent, Tag("speech.detected")]
    | Annotated[AiResponseEvent, Tag("ai.response")]
    | Annotated[ResponseInterruptedEvent, Tag("response.interrupted")]
    | Annotated[ResponsePendingApprovalEvent, Tag("response.pending_approval")]
    | Annotated[ResponseApprovedEvent, Tag("response.approved")]
    | Annotated[CommandExecutedEvent, Tag("command.executed")]
    | Annotated[CallTransferredEvent, Tag("call.transferred")]
    | Annotated[DtmfSentEvent, Tag("dtmf.sent")]
    | Annotated[DtmfReceivedEvent, Tag("dtmf.received")]
    | Annotated[SupervisorTextSentEvent, Tag("supervisor.text_sent")]
    | Annotated[ClarificationRequestedEvent, Tag("clarification.requested")]
    | Annotated[ClarificationAnsweredEvent, Tag("clarification.answered")]
    | Annotated[LatencyMeasuredEvent, Tag("latency.measured")]
    | Annotated[ErrorOccurredEvent, Tag("error.occurred")]
    | Annotated[CallEndedEvent, Tag("call.ended")]
    | Annotated[UnknownEvent, Tag(_UNKNOWN)],
    Discriminator(_tag),
    WrapValidator(_or_unknown),
]
"""Any call event: the model of its ``type``, else :class:`UnknownEvent`."""

_EVENT: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(raw: str | bytes | dict[str, Any]) -> Event:
    """One event from its JSON text or decoded object."""
    if isinstance(raw, dict):
        return _EVENT.validate_python(raw)
    return _EVENT.validate_json(raw)
