"""Commands on the call aggregate (keyed by Twilio's CallSid), and the one that places a call.

Caller audio and mark echoes travel on the audio topic in a compact form (see ``AudioFrame``), not as
these models: they are the hot path.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from phony.commands.base import Command
from phony.events.agents import AgentSettings


class _Outbound(Command):
    """What placing an outbound call needs: the agent (and its settings then), the numbers, and the
    scenario and metadata the model is told about."""

    agent_id: str
    agent: AgentSettings
    to: str
    from_: str = Field(alias="from")
    scenario: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class PlaceCall(_Outbound):
    """Ask Twilio to dial. Keyed by a request id: the call's own key (its CallSid) exists only once
    Twilio has answered the REST request; the worker then sends ``RegisterOutboundCall`` with the
    same command id, so the REST caller's wait ends when that call is projected."""

    type: Literal["call.place"] = "call.place"


class RegisterOutboundCall(_Outbound):
    type: Literal["call.register_outbound"] = "call.register_outbound"


class AcceptInboundCall(Command):
    type: Literal["call.accept_inbound"] = "call.accept_inbound"
    agent_id: str | None  # None: no agent has the number; the call is refused politely
    agent: AgentSettings | None = None  # the agent's settings when the call arrived
    to: str
    from_: str = Field(alias="from")


class UpdateCallStatus(Command):
    """A Twilio status callback."""

    type: Literal["call.status"] = "call.status"
    status: str
    duration: float | None = None
    sequence: int | None = None


class StartMedia(Command):
    type: Literal["call.media_start"] = "call.media_start"
    stream_sid: str
    parameters: dict[str, str] = Field(default_factory=dict)


class StopMedia(Command):
    type: Literal["call.media_stop"] = "call.media_stop"
    stream_sid: str


class ReceiveDigit(Command):
    type: Literal["call.dtmf_received"] = "call.dtmf_received"
    digit: str


class RecordError(Command):
    """Something went wrong on the way (a malformed or out-of-order media message): record it."""

    type: Literal["call.record_error"] = "call.record_error"
    error_type: str
    message: str
    code: str


class SendText(Command):
    type: Literal["call.send_text"] = "call.send_text"
    text: str


class TransferCall(Command):
    type: Literal["call.transfer"] = "call.transfer"
    target: str


class SendDigits(Command):
    type: Literal["call.send_digits"] = "call.send_digits"
    digits: str


class EndCall(Command):
    type: Literal["call.end"] = "call.end"


class AnswerClarification(Command):
    type: Literal["call.answer_clarification"] = "call.answer_clarification"
    response: str


class ApproveResponse(Command):
    type: Literal["call.approve"] = "call.approve"
    response_id: str
    text: str | None = None


CALL_COMMANDS = (
    PlaceCall,
    RegisterOutboundCall,
    AcceptInboundCall,
    UpdateCallStatus,
    StartMedia,
    StopMedia,
    ReceiveDigit,
    RecordError,
    SendText,
    TransferCall,
    SendDigits,
    EndCall,
    AnswerClarification,
    ApproveResponse,
)
LiveCallCommand = (
    RegisterOutboundCall
    | AcceptInboundCall
    | UpdateCallStatus
    | StartMedia
    | StopMedia
    | ReceiveDigit
    | RecordError
    | SendText
    | TransferCall
    | SendDigits
    | EndCall
    | AnswerClarification
    | ApproveResponse
)
"""The commands of a call's own aggregate (keyed by its CallSid): what the call's actor decides on."""
CALL_COMMANDS_UNION = PlaceCall | LiveCallCommand
CallCommand = CALL_COMMANDS_UNION


def call_sid_of(command: Command) -> str | None:
    """The CallSid ``command`` is about (for log context): a live call's command's key; ``None`` for
    other aggregates' commands and for ``PlaceCall`` (keyed by a request id until Twilio answers)."""
    if isinstance(command, CALL_COMMANDS) and not isinstance(command, PlaceCall):
        return command.aggregate_id
    return None
