"""The call decider as tables: GIVEN the call's events (folded as the worker folds them) and a session
view prepared by earlier inputs, WHEN one input, THEN these events and these effects. Pure: no server.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import pytest

from phony.commands.base import Command
from phony.commands.calls import (
    AcceptInboundCall,
    AnswerClarification,
    ApproveResponse,
    EndCall,
    ReceiveDigit,
    RecordError,
    RegisterOutboundCall,
    SendDigits,
    SendText,
    StartMedia,
    StopMedia,
    TransferCall,
    UpdateCallStatus,
)
from phony.commands.playback import ClearPlayback, CloseStream, PlayMedia
from phony.config import Settings
from phony.events import EventData, envelope_for
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
    Direction,
    DtmfReceived,
    DtmfSent,
    EndReason,
    ErrorOccurred,
    HeldCommand,
    LatencyMeasured,
    LlmCommandName,
    MediaStarted,
    ResponseApproved,
    ResponseInterrupted,
    ResponsePendingApproval,
    SpeechDetected,
    SupervisorTextSent,
)
from phony.workers.calls.decide import decide_call
from phony.workers.calls.decision import HOLD_LINE, Context, Decision
from phony.workers.calls.effects import (
    AddItem,
    After,
    AskStatus,
    CancelResponse,
    CloseSession,
    CreateResponse,
    HangUp,
    OpenSession,
    Play,
    PlayDigits,
    SaveAudio,
    Transfer,
    Truncate,
    UpdateSession,
)
from phony.workers.calls.inputs import (
    CallInput,
    HeardDeadline,
    MarkPlayed,
    Restore,
    SessionLost,
    SessionOpened,
    TelephonyDone,
    TelephonyFailed,
)
from phony.workers.calls.instructions import verbatim
from phony.workers.calls.model_events import (
    AudioDelta,
    FunctionCallDone,
    ModelError,
    OutputItemAdded,
    ResponseCreated,
    ResponseDone,
    SpeechStarted,
    SpeechStopped,
    TokenLogprob,
    TranscriptDone,
    TranscriptionCompleted,
)
from phony.workers.calls.session_view import KEEP_REPLIES, SessionView
from phony.workers.calls.state import NOTE, CallState, HeldReply, PendingAction, fold_call
from phony.workers.store import AggregateStore

SETTINGS = Settings(_env_file=None)
SID = "CA00000000000000000000000000000001"
TENANT = "tenant_decider"
AGENT_ID = "agent_decider"
CALLER, NUMBER = "+15557770000", "+15551230000"
STREAM, NEW_STREAM = "MZ0001", "MZ0002"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GREETING = "Hello, thanks for calling Acme."
ALLOWED, FORBIDDEN = "+15550001111", "+442071234567"
AGENT = AgentSettings(
    name="Front desk",
    system_prompt="You answer Acme's phone.",
    voice="alloy",
    model="gpt-realtime",
    greeting_message=GREETING,
    transfer_allowlist=["+1555"],
)
APPROVAL = AGENT.model_copy(update={"require_approval": True, "greeting_message": None})
AUDIO = b"\xff" * 4000  # 500 ms of μ-law
HALF = len(AUDIO) // 2
HEARD_BOUND_S = len(AUDIO) / 8000 + 2.0  # a reply's length plus the grace for Twilio's mark
PARAMETERS = {"tenant_id": TENANT, "agent_id": AGENT_ID, "direction": "inbound"}
TRANSFER_REFUSED = "target not in the agent's transfer allowlist"
CommandSource = Literal["tool", "marker", "supervisor"]


def b64(audio: bytes) -> str:
    return base64.b64encode(audio).decode()


def audio_url(response_id: str) -> str:
    return f"{SETTINGS.base_url}/calls/{SID}/responses/{response_id}/audio"


def replies_on(on: bool) -> dict[str, Any]:
    """The ``session.update`` that lets the model answer the caller by itself again (or stops it)."""
    detection = {
        "type": "server_vad",
        "silence_duration_ms": SETTINGS.vad_silence_ms,
        "create_response": on,
        "interrupt_response": on,
    }
    return {"type": "realtime", "audio": {"input": {"turn_detection": detection}}}


def output(call_id: str, body: dict[str, Any]) -> AddItem:
    return AddItem({"type": "function_call_output", "call_id": call_id, "output": json.dumps(body)})


def system_message(text: str) -> AddItem:
    return AddItem({"type": "message", "role": "system", "content": [{"type": "input_text", "text": text}]})


# ---------------------------------------------------------------- the harness

C = TypeVar("C", bound=Command)


def command(cls: type[C], **fields: Any) -> C:
    """A command on this call."""
    return cls(tenant_id=TENANT, aggregate_id=SID, **fields)


@dataclass(frozen=True)
class Later:
    """``input``, ``seconds`` after the one before it (the clock of the decision's context)."""

    seconds: float
    input: CallInput


@dataclass(frozen=True)
class Unfolded:
    """``input`` decided, but its events not folded yet (a second input decided meanwhile)."""

    input: CallInput


@dataclass(frozen=True)
class CallerAt:
    """The caller's audio has reached stream time ``ms`` (what the actor notes from caller frames)."""

    ms: int


Step = CallInput | Later | Unfolded | CallerAt


class Call:
    """One call under test: its state folded by the worker's own store and fold, the session view its
    decisions keep, and a clock."""

    def __init__(self) -> None:
        self.store = AggregateStore(SETTINGS)
        self.store.register("call", CallState, fold_call)
        self.session = SessionView()
        self.now, self.mono = T0, 1000.0
        self.history: list[Decision] = []

    @property
    def state(self) -> CallState:
        state = self.store.get("call", SID)
        assert isinstance(state, CallState)
        return state

    def given(self, *events: EventData) -> None:
        """Fold ``events`` as the worker does: each in its envelope, with the next ``seq``."""
        for event in events:
            seq = self.state.seq + 1
            self.store.fold(
                envelope_for(event, aggregate_id=SID, tenant_id=TENANT, seq=seq, timestamp=self.now)
            )

    def step(self, step: Step) -> Decision:
        """Decide one input, then fold its events (unless ``Unfolded``), as the call's actor does."""
        fold = True
        if isinstance(step, CallerAt):
            self.session.stream_ms = step.ms
            return Decision()
        if isinstance(step, Unfolded):
            step, fold = step.input, False
        if isinstance(step, Later):
            self.now += timedelta(seconds=step.seconds)
            self.mono += step.seconds
            step = step.input
        ctx = Context(SID, SETTINGS, self.now, self.mono)
        decision = decide_call(self.state, self.session, step, ctx)
        self.history.append(decision)
        if fold:
            self.given(*decision.events)
        return decision


@dataclass(frozen=True)
class Case:
    """GIVEN ``given`` (events) and ``before`` (inputs decided first), WHEN ``when``, THEN ``events``
    and ``effects`` (each an instance to equal, or a class when only the kind matters)."""

    name: str
    when: Step
    given: Sequence[EventData] = ()
    before: Sequence[Step] = ()
    events: Sequence[object] | None = ()  # None: not checked here (the test asserts what matters)
    effects: Sequence[object] | None = ()
    act_first: bool = False
    refused: str | None = None  # the refusal's code, when the command is refused


def _shape(actual: Sequence[object], expected: Sequence[object]) -> list[object]:
    """``actual`` with each item replaced by its class where ``expected`` gives only a class."""
    return [
        type(item) if i < len(expected) and isinstance(expected[i], type) else item
        for i, item in enumerate(actual)
    ]


def run_test(case: Case) -> tuple[Call, Decision]:
    """Given, when, then: the one helper every case goes through."""
    call = Call()
    call.given(*case.given)
    for step in case.before:
        call.step(step)
    decision = call.step(case.when)
    if case.events is not None:
        assert _shape(decision.events, case.events) == list(case.events)
    if case.effects is not None:
        assert _shape(decision.effects, case.effects) == list(case.effects)
    assert decision.act_first is case.act_first
    assert (decision.refusal.code if decision.refusal else None) == case.refused
    return call, decision


def params(*cases: Case) -> list[Any]:
    """A table of cases for ``parametrize``, each named by its case."""
    return [pytest.param(case, id=case.name) for case in cases]


# ---------------------------------------------------------------- events and inputs to start from


def started(agent: AgentSettings | None = AGENT, direction: Direction = "inbound") -> CallStarted:
    return CallStarted(
        callSid=SID,
        from_=CALLER,
        to=NUMBER,
        timestamp=T0.isoformat(),
        direction=direction,
        agent_id=AGENT_ID if agent is not None else None,
        agent=agent,
    )


def live(agent: AgentSettings = AGENT) -> list[EventData]:
    """A call in progress on ``STREAM``."""
    return [started(agent), MediaStarted(stream_sid=STREAM)]


def ended(reason: EndReason, duration: float = 0.0) -> CallEnded:
    return CallEnded(callSid=SID, duration=duration, reason=reason)


OPEN: list[Step] = [SessionOpened()]  # the session view of a call whose model session is up


def reply(
    rid: str, words: str, *, audio: bytes = AUDIO, tools: Sequence[tuple[str, str, str]] = ()
) -> list[Step]:
    """A model response streaming: created, its message item, its audio, its words, its tool calls."""
    item = f"item_{rid}"
    steps: list[Step] = [
        ResponseCreated(response_id=rid),
        OutputItemAdded(response_id=rid, item_id=item, item_type="message"),
    ]
    if audio:
        steps.append(AudioDelta(rid, item, b64(audio)))
    steps.append(TranscriptDone(response_id=rid, item_id=item, transcript=words))
    steps += [FunctionCallDone(response_id=rid, call_id=c, name=n, arguments=a) for n, c, a in tools]
    return steps


def done(rid: str, status: str = "completed") -> ResponseDone:
    return ResponseDone(response_id=rid, status=status)


def said(rid: str, text: str, *, audio: bytes = AUDIO, interrupted: bool = False) -> AiResponse:
    return AiResponse(
        response_id=rid,
        text=text,
        audio_url=audio_url(rid) if audio else None,
        model=AGENT.model,
        interrupted=interrupted,
        audio_ms=len(audio) // 8,
    )


def executed(
    name: LlmCommandName, argument: str | None, source: CommandSource, **refused: Any
) -> CommandExecuted:
    return CommandExecuted(command=name, argument=argument, source=source, **refused)


# ---------------------------------------------------------------- a call starts

ACCEPT = command(AcceptInboundCall, agent_id=AGENT_ID, agent=AGENT, to=NUMBER, from_=CALLER)
REGISTER = command(
    RegisterOutboundCall,
    agent_id=AGENT_ID,
    agent=AGENT,
    to=CALLER,
    from_=NUMBER,
    scenario="renewal",
    metadata={"order": "42"},
)

STARTS = params(
    Case("inbound_call_is_started", when=ACCEPT, events=[started()]),
    Case(
        "outbound_call_is_started_with_its_scenario_and_metadata",
        when=REGISTER,
        events=[
            CallStarted(
                callSid=SID,
                from_=NUMBER,
                to=CALLER,
                timestamp=T0.isoformat(),
                direction="outbound",
                agent_id=AGENT_ID,
                scenario="renewal",
                metadata={"order": "42"},
                agent=AGENT,
            )
        ],
    ),
    Case(
        "call_no_agent_answers_is_started_refused_and_ended",
        when=command(AcceptInboundCall, agent_id=None, to=NUMBER, from_=CALLER),
        events=[
            started(agent=None),
            ErrorOccurred(error_type="routing", message=f"no active agent answers {NUMBER}", code="NO_AGENT"),
            ended("no_agent"),
        ],
    ),
    Case("call_started_already_is_not_started_again", given=[started()], when=ACCEPT),
)


@pytest.mark.parametrize("case", STARTS)
def test_a_call_starts_once_or_ends_for_want_of_an_agent(case: Case) -> None:
    run_test(case)


# ---------------------------------------------------------------- its media stream

MEDIA = params(
    Case(
        "stream_start_answers_the_call_and_opens_the_session",
        given=[started()],
        when=command(StartMedia, stream_sid=STREAM),
        events=[CallAnswered(), MediaStarted(stream_sid=STREAM)],
        effects=[OpenSession],
    ),
    Case(
        "stream_start_of_an_answered_call_opens_the_session",
        given=[started(), CallAnswered()],
        when=command(StartMedia, stream_sid=STREAM),
        events=[MediaStarted(stream_sid=STREAM)],
        effects=[OpenSession],
    ),
    Case(
        "stream_start_for_an_unknown_call_closes_the_stream",
        when=command(StartMedia, stream_sid=STREAM),
        effects=[Play(CloseStream("unknown call"))],
    ),
    Case(
        "stream_start_for_an_ended_call_closes_the_stream",
        given=[*live(), ended("caller_hangup")],
        when=command(StartMedia, stream_sid=NEW_STREAM),
        effects=[Play(CloseStream("call has ended"))],
    ),
    Case(
        "new_stream_after_digits_goes_on_with_the_session",
        given=[*live(), DtmfSent(digits="1", by="supervisor")],
        before=OPEN,
        when=command(StartMedia, stream_sid=NEW_STREAM),
        events=[MediaStarted(stream_sid=NEW_STREAM)],
    ),
    Case(
        "stream_start_while_a_restored_session_opens_goes_on_with_it",
        given=live(),
        before=[Restore()],
        when=command(StartMedia, stream_sid=STREAM),
        events=[MediaStarted(stream_sid=STREAM)],
    ),
    Case(
        "stop_of_the_current_stream_ends_the_call_caller_hangup_without_hanging_up",
        given=live(),
        before=OPEN,
        when=Later(30, command(StopMedia, stream_sid=STREAM)),
        events=[ended("caller_hangup", 30.0)],
        effects=[CloseSession()],
    ),
    Case(
        "stop_of_a_replaced_stream_does_nothing",
        given=[*live(), MediaStarted(stream_sid=NEW_STREAM)],
        before=OPEN,
        when=command(StopMedia, stream_sid=STREAM),
    ),
    Case(
        "stop_while_digits_are_in_flight_does_nothing",
        given=live(),
        before=[*OPEN, command(SendDigits, digits="1")],
        when=command(StopMedia, stream_sid=STREAM),
    ),
    Case(
        "stop_after_digits_were_sent_does_nothing_until_the_new_stream",
        given=[*live(), DtmfSent(digits="1", by="ai")],
        before=OPEN,
        when=command(StopMedia, stream_sid=STREAM),
    ),
    Case(
        "stop_while_an_ai_transfer_is_in_flight_does_nothing",
        given=live(),
        before=[
            *OPEN,
            *reply("r1", "", audio=b"", tools=[("transfer_call", "call_1", json.dumps({"target": ALLOWED}))]),
            done("r1"),
        ],
        when=command(StopMedia, stream_sid=STREAM),
    ),
    Case(
        "stop_after_twilio_refused_the_transfer_ends_the_call",
        given=live(),
        before=[*OPEN, command(TransferCall, target=ALLOWED), TelephonyFailed("transfer", ALLOWED, "busy")],
        when=command(StopMedia, stream_sid=STREAM),
        events=[ended("caller_hangup")],
        effects=[CloseSession()],
    ),
    Case(
        "stop_after_twilio_refused_the_digits_ends_the_call",
        given=live(),
        before=[*OPEN, command(SendDigits, digits="1"), TelephonyFailed("digits", "1", "busy")],
        when=command(StopMedia, stream_sid=STREAM),
        events=[ended("caller_hangup")],
        effects=[CloseSession()],
    ),
)


@pytest.mark.parametrize("case", MEDIA)
def test_the_media_stream_opens_the_session_and_its_stop_ends_the_call(case: Case) -> None:
    run_test(case)


def test_media_start_opens_the_session_configured_from_the_agent_with_the_greeting_to_say() -> None:
    call, decision = run_test(
        Case(
            "greeting",
            given=[started()],
            when=command(StartMedia, stream_sid=STREAM),
            events=[CallAnswered, MediaStarted],
            effects=[OpenSession],
        )
    )
    opened = decision.effects[0]
    assert isinstance(opened, OpenSession)
    assert (opened.model, opened.items) == (AGENT.model, ())
    assert opened.then == (CreateResponse(verbatim(GREETING)),)
    assert opened.session["model"] == AGENT.model
    assert AGENT.system_prompt in opened.session["instructions"]
    assert f"- from: {CALLER}" in opened.session["instructions"]
    assert (
        opened.session["audio"]["input"]["turn_detection"]
        == replies_on(True)["audio"]["input"]["turn_detection"]
    )
    assert call.session.opening
    # The greeting's response is ours (words to say), so it is not held even with approval on.
    call.step(ResponseCreated(response_id="r0"))
    assert call.session.replies["r0"].verbatim


# ---------------------------------------------------------------- Twilio's status callbacks

STATUSES = params(
    Case(
        "completed_ends_the_call_caller_hangup_with_twilios_duration",
        given=live(),
        before=OPEN,
        when=command(UpdateCallStatus, status="completed", duration=37),
        events=[ended("caller_hangup", 37.0)],
        effects=[CloseSession()],
    ),
    Case(
        "completed_without_a_duration_counts_from_the_answer",
        given=live(),
        when=Later(12.5, command(UpdateCallStatus, status="completed")),
        events=[ended("caller_hangup", 12.5)],
        effects=[CloseSession()],
    ),
    Case(
        "busy_ends_an_outbound_call_busy",
        given=[started(direction="outbound")],
        when=command(UpdateCallStatus, status="busy"),
        events=[ended("busy")],
        effects=[CloseSession()],
    ),
    Case(
        "no_answer_ends_an_outbound_call_no_answer",
        given=[started(direction="outbound"), CallRinging()],
        when=command(UpdateCallStatus, status="no-answer"),
        events=[ended("no_answer")],
        effects=[CloseSession()],
    ),
    Case(
        "ringing_of_a_queued_call_is_recorded",
        given=[started(direction="outbound")],
        when=command(UpdateCallStatus, status="ringing"),
        events=[CallRinging()],
    ),
    Case(
        "in_progress_answers_the_call",
        given=[started(direction="outbound"), CallRinging()],
        when=command(UpdateCallStatus, status="in-progress"),
        events=[CallAnswered()],
    ),
    Case(
        "in_progress_of_a_call_answered_already_does_nothing",
        given=live(),
        when=command(UpdateCallStatus, status="in-progress"),
    ),
    Case(
        "status_of_an_unknown_call_does_nothing",
        when=command(UpdateCallStatus, status="completed"),
    ),
)


@pytest.mark.parametrize("case", STATUSES)
def test_twilio_status_callbacks_ring_answer_and_end_the_call(case: Case) -> None:
    run_test(case)


# ---------------------------------------------------------------- one end only

DOUBLE_ENDS = params(
    Case(
        "status_completed_after_an_unfolded_end_call_decides_nothing",
        given=live(),
        before=[*OPEN, Unfolded(command(EndCall))],
        when=command(UpdateCallStatus, status="completed"),
    ),
    Case(
        "end_call_after_an_unfolded_status_completed_decides_nothing",
        given=live(),
        before=[*OPEN, Unfolded(command(UpdateCallStatus, status="completed"))],
        when=command(EndCall),
    ),
    Case(
        "stream_stop_after_an_unfolded_end_call_decides_nothing",
        given=live(),
        before=[*OPEN, Unfolded(command(EndCall))],
        when=command(StopMedia, stream_sid=STREAM),
    ),
    Case(
        "transfer_done_after_an_unfolded_end_call_decides_nothing",
        given=live(),
        before=[*OPEN, Unfolded(command(EndCall))],
        when=TelephonyDone("transfer", ALLOWED, "supervisor"),
    ),
    Case(
        "session_lost_after_an_unfolded_stream_stop_decides_nothing",
        given=live(),
        before=[*OPEN, Unfolded(command(StopMedia, stream_sid=STREAM))],
        when=SessionLost("closed"),
    ),
)


@pytest.mark.parametrize("case", DOUBLE_ENDS)
def test_two_ways_of_ending_at_once_record_one_end(case: Case) -> None:
    run_test(case)


LATE_INPUTS: list[CallInput] = [
    AudioDelta("r1", "item_r1", b64(AUDIO)),
    SpeechStarted(),
    SpeechStopped(),
    TranscriptionCompleted(item_id="item_c", transcript="Hello?"),
    TranscriptDone(response_id="r1", item_id="item_r1", transcript="Bye"),
    FunctionCallDone(response_id="r1", call_id="call_1", name="end_call", arguments="{}"),
    done("r1"),
    ModelError(error_type="server_error", message="boom"),
    MarkPlayed(f"r1:{len(AUDIO)}"),
    HeardDeadline("r1"),
    SessionOpened(),
    SessionLost("closed"),
    TelephonyDone("transfer", ALLOWED, "ai"),
    TelephonyDone("digits", "1", "supervisor"),
    TelephonyFailed("transfer", ALLOWED, "busy"),
    Restore(),
    ACCEPT,
    command(UpdateCallStatus, status="completed"),
    command(StopMedia, stream_sid=STREAM),
    command(ReceiveDigit, digit="5"),
    command(RecordError, error_type="media", message="late frame", code="OUT_OF_ORDER"),
    command(SendText, text="Are you there?"),
    command(TransferCall, target=ALLOWED),
    command(SendDigits, digits="1"),
    command(EndCall),
    command(AnswerClarification, response="Yes"),
    command(ApproveResponse, response_id="r1"),
]


@pytest.mark.parametrize("late", LATE_INPUTS, ids=lambda i: type(i).__name__)
def test_an_ended_call_decides_nothing_on_any_later_input(late: CallInput) -> None:
    # Ended by its supervisor while a reply streamed and a clarification was open.
    run_test(
        Case(
            "ended",
            given=[*live(), ClarificationRequested(question="Refund?", call_id="call_0")],
            before=[*OPEN, *reply("r1", "Let me check."), command(EndCall)],
            when=late,
        )
    )


# ---------------------------------------------------------------- the supervisor

SUPERVISOR = params(
    Case(
        "text_is_recorded_and_said_word_for_word",
        given=live(),
        before=OPEN,
        when=command(SendText, text="Your order ships today."),
        events=[SupervisorTextSent(text="Your order ships today.")],
        effects=[CreateResponse(verbatim("Your order ships today."))],
        act_first=True,  # the model first: the supervisor waits to hear it
    ),
    Case(
        "text_cuts_off_the_reply_streaming_now",
        given=live(),
        before=[*OPEN, *reply("r1", "Let me see")],
        when=command(SendText, text="Your order ships today."),
        events=[SupervisorTextSent(text="Your order ships today.")],
        effects=[
            CancelResponse(),
            Play(ClearPlayback()),
            CreateResponse(verbatim("Your order ships today.")),
        ],
        act_first=True,  # the model first: the supervisor waits to hear it
    ),
    Case(
        "audio_of_the_reply_a_supervisor_cut_off_is_not_played",
        given=live(),
        before=[*OPEN, *reply("r1", "Let me see"), command(SendText, text="Your order ships today.")],
        when=AudioDelta("r1", "item_r1", b64(AUDIO[:160])),
    ),
    Case(
        "text_clears_what_the_caller_has_still_to_hear_of_a_reply_done_streaming",
        given=live(),
        before=[*OPEN, *reply("r1", "We open at nine."), done("r1"), MarkPlayed(f"r1:{HALF}")],
        when=command(SendText, text="Your order ships today."),
        events=[SupervisorTextSent(text="Your order ships today.")],
        effects=[Play(ClearPlayback()), CreateResponse(verbatim("Your order ships today."))],
        act_first=True,  # the model first: the supervisor waits to hear it
    ),
    Case(
        "text_after_the_reply_was_heard_cuts_off_and_clears_nothing",
        given=live(),
        before=[*OPEN, *reply("r1", "We open at nine."), done("r1"), MarkPlayed(f"r1:{len(AUDIO)}")],
        when=command(SendText, text="Your order ships today."),
        events=[SupervisorTextSent(text="Your order ships today.")],
        effects=[CreateResponse(verbatim("Your order ships today."))],
        act_first=True,  # the model first: the supervisor waits to hear it
    ),
    Case(
        "transfer_is_asked_of_twilio",
        given=live(),
        before=OPEN,
        when=command(TransferCall, target=ALLOWED, id="cmd_transfer"),
        effects=[Transfer(ALLOWED, "supervisor", "cmd_transfer")],
    ),
    Case(
        "digits_are_played_and_the_stream_reconnected_with_its_parameters",
        given=live(),
        before=OPEN,
        when=command(SendDigits, digits="12#", id="cmd_digits"),
        effects=[PlayDigits("12#", "supervisor", PARAMETERS, "cmd_digits")],
    ),
    Case(
        "end_hangs_up_and_closes_the_session",
        given=live(),
        before=OPEN,
        when=Later(61, command(EndCall)),
        events=[ended("supervisor_ended", 61.0)],
        effects=[HangUp(), CloseSession()],
    ),
    Case(
        "transfer_done_records_the_transfer_and_the_end",
        given=live(),
        before=[*OPEN, command(TransferCall, target=ALLOWED)],
        when=TelephonyDone("transfer", ALLOWED, "supervisor"),
        events=[CallTransferred(target=ALLOWED, by="supervisor"), ended("transferred")],
        effects=[CloseSession()],
    ),
    Case(
        "digits_done_are_recorded",
        given=live(),
        before=[*OPEN, command(SendDigits, digits="12#")],
        when=TelephonyDone("digits", "12#", "supervisor"),
        events=[DtmfSent(digits="12#", by="supervisor")],
    ),
    Case(
        "transfer_twilio_refused_is_a_telephony_error",
        given=live(),
        before=[*OPEN, command(TransferCall, target=ALLOWED)],
        when=TelephonyFailed("transfer", ALLOWED, "HTTP 400"),
        events=[
            ErrorOccurred(
                error_type="telephony",
                message=f"Twilio refused the transfer to {ALLOWED}: HTTP 400",
                code="TELEPHONY_ERROR",
            )
        ],
    ),
    Case(
        "digits_twilio_refused_are_a_telephony_error",
        given=live(),
        before=[*OPEN, command(SendDigits, digits="9")],
        when=TelephonyFailed("digits", "9", "HTTP 503"),
        events=[
            ErrorOccurred(
                error_type="telephony",
                message="Twilio refused the digits 9: HTTP 503",
                code="TELEPHONY_ERROR",
            )
        ],
    ),
    Case(
        "command_before_the_call_exists_does_nothing",
        when=command(SendText, text="Hello?"),
    ),
)


@pytest.mark.parametrize("case", SUPERVISOR)
def test_supervisor_commands_become_effects_and_what_comes_back_events(case: Case) -> None:
    run_test(case)


# ---------------------------------------------------------------- the model's audio and barge-in

AUDIO_AND_BARGE_IN = params(
    Case(
        "audio_delta_goes_to_the_caller_with_its_mark_before_anything_is_recorded",
        given=live(),
        before=[*OPEN, ResponseCreated(response_id="r1")],
        when=AudioDelta("r1", "item_r1", b64(AUDIO[:160])),
        effects=[Play(PlayMedia(b64(AUDIO[:160]), "r1:160"))],
        act_first=True,
    ),
    Case(
        "next_delta_marks_all_bytes_sent_so_far",
        given=live(),
        before=[*OPEN, ResponseCreated(response_id="r1"), AudioDelta("r1", "item_r1", b64(AUDIO[:160]))],
        when=AudioDelta("r1", "item_r1", b64(AUDIO[:320])),
        effects=[Play(PlayMedia(b64(AUDIO[:320]), "r1:480"))],
        act_first=True,
    ),
    Case(
        "first_delta_after_the_caller_stopped_speaking_measures_the_turn_latency",
        given=live(),
        before=[*OPEN, SpeechStopped(), ResponseCreated(response_id="r1")],
        when=Later(0.35, AudioDelta("r1", "item_r1", b64(AUDIO[:160]))),
        effects=[Play(PlayMedia(b64(AUDIO[:160]), "r1:160"))],  # measured, recorded at the reply's end
        act_first=True,
    ),
    Case(
        "the_turn_latency_is_recorded_with_the_reply_at_its_end",
        given=live(),
        before=[
            *OPEN,
            SpeechStopped(),
            ResponseCreated(response_id="r1"),
            Later(0.35, AudioDelta("r1", "item_r1", b64(AUDIO[:160]))),
        ],
        when=done("r1"),
        events=[LatencyMeasured(metric="turn_latency_ms", ms=350.0), AiResponse],
        effects=None,
    ),
    Case(
        "delta_of_a_held_reply_waits_for_approval",
        given=live(APPROVAL),
        before=[*OPEN, ResponseCreated(response_id="r1")],
        when=AudioDelta("r1", "item_r1", b64(AUDIO)),
    ),
    Case(
        "delta_of_a_reply_this_session_did_not_create_is_not_played_as_the_current_one",
        given=live(),
        before=[*OPEN, ResponseCreated(response_id="r1")],
        when=AudioDelta("r0", "item_r0", b64(AUDIO)),
    ),
    Case(
        "done_of_a_reply_this_session_did_not_create_changes_nothing",
        given=live(),
        before=[*OPEN, *reply("r1", "Let me see")],
        when=done("r0"),
    ),
    Case(
        "caller_speaking_over_a_playing_reply_clears_it_and_truncates_at_the_played_ms",
        given=live(),
        before=[*OPEN, *reply("r1", "Our hours are nine to five."), MarkPlayed(f"r1:{HALF}")],
        when=SpeechStarted(),
        events=[ResponseInterrupted(response_id="r1", played_ms=250)],
        effects=[Play(ClearPlayback()), Truncate("item_r1", 250)],
        act_first=True,
    ),
    Case(
        "delta_of_a_reply_the_caller_interrupted_is_not_played",
        given=live(),
        before=[*OPEN, *reply("r1", "Our hours are"), MarkPlayed(f"r1:{HALF}"), SpeechStarted()],
        when=AudioDelta("r1", "item_r1", b64(AUDIO[:160])),
    ),
    Case(
        "caller_speaking_after_the_reply_was_heard_interrupts_nothing",
        given=live(),
        before=[*OPEN, *reply("r1", "Hi."), done("r1"), MarkPlayed(f"r1:{len(AUDIO)}")],
        when=SpeechStarted(),
    ),
    Case(
        "caller_speaking_while_nothing_plays_interrupts_nothing",
        given=live(),
        before=OPEN,
        when=SpeechStarted(),
    ),
)


@pytest.mark.parametrize("case", AUDIO_AND_BARGE_IN)
def test_model_audio_reaches_the_caller_first_and_barge_in_cuts_it(case: Case) -> None:
    run_test(case)


def test_an_interrupted_reply_is_recorded_as_interrupted() -> None:
    run_test(
        Case(
            "interrupted",
            given=live(),
            before=[*OPEN, *reply("r1", "Our hours are"), MarkPlayed(f"r1:{HALF}"), SpeechStarted()],
            when=done("r1", "cancelled"),
            events=[said("r1", "Our hours are", interrupted=True)],
            effects=[SaveAudio("r1", 0, AUDIO)],
        )
    )


# ---------------------------------------------------------------- the model's words

MODEL = params(
    Case(
        "caller_turn_is_recorded_with_its_confidence",
        given=live(),
        before=OPEN,
        when=TranscriptionCompleted(
            item_id="item_c1",
            transcript=" Where is my order? ",
            logprobs=(TokenLogprob(token="Where", logprob=0.0), TokenLogprob(token=" is", logprob=0.0)),
        ),
        events=[
            SpeechDetected(text="Where is my order?", speaker="caller", confidence=1.0, item_id="item_c1")
        ],
    ),
    Case(
        "empty_caller_turn_is_not_recorded",
        given=live(),
        before=OPEN,
        when=TranscriptionCompleted(item_id="item_c1", transcript="  "),
    ),
    Case(
        "reply_done_is_recorded_and_its_audio_saved_where_it_started",
        given=live(),
        before=[*OPEN, CallerAt(4200), *reply("r1", "We open at nine.")],
        when=done("r1"),
        events=[said("r1", "We open at nine.")],
        effects=[SaveAudio("r1", 4200, AUDIO)],
    ),
    Case(
        "model_error_is_recorded_and_the_call_goes_on",
        given=live(),
        before=OPEN,
        when=ModelError(error_type="invalid_request_error", code="bad_item", message="no such item"),
        events=[
            ErrorOccurred(error_type="model.invalid_request_error", message="no such item", code="bad_item")
        ],
    ),
    Case(
        "session_lost_is_an_error_and_ends_the_call_model_error",
        given=live(),
        before=OPEN,
        when=SessionLost("connection reset"),
        events=[
            ErrorOccurred(error_type="model", message="connection reset", code="MODEL_UNAVAILABLE"),
            ended("model_error"),
        ],
        effects=[HangUp(), CloseSession()],
    ),
    Case(
        "caller_digit_is_recorded",
        given=live(),
        when=command(ReceiveDigit, digit="5"),
        events=[DtmfReceived(digit="5")],
    ),
)


@pytest.mark.parametrize("case", MODEL)
def test_the_models_observations_are_recorded(case: Case) -> None:
    run_test(case)


# ---------------------------------------------------------------- replies held for approval

HELD_WORDS = "Let me put you through to billing."
HELD_TOOLS = [("transfer_call", "call_1", json.dumps({"target": ALLOWED}))]
HELD = [*OPEN, *reply("r1", HELD_WORDS, tools=HELD_TOOLS)]
HELD_COMMAND = HeldCommand(command="transfer", argument=ALLOWED, source="tool", call_id="call_1")
HOLD_HEARD: list[Step] = [*reply("r2", HOLD_LINE), done("r2"), MarkPlayed(f"r2:{len(AUDIO)}")]
NEW_WORDS = "One moment, transferring."
APPROVED_NEW_WORDS = [
    *HELD,
    done("r1"),
    *HOLD_HEARD,
    command(ApproveResponse, response_id="r1", text=NEW_WORDS),
    *reply("r3", NEW_WORDS),  # the model says them
]

APPROVALS = params(
    Case(
        "held_reply_done_waits_for_approval_with_its_commands_and_the_caller_hears_the_hold_line",
        given=live(APPROVAL),
        before=HELD,
        when=done("r1"),
        events=[ResponsePendingApproval(response_id="r1", text=HELD_WORDS, commands=(HELD_COMMAND,))],
        effects=[CreateResponse(verbatim(HOLD_LINE))],
    ),
    Case(
        "held_reply_with_a_marker_keeps_the_marker_as_a_command",
        given=live(APPROVAL),
        before=[*OPEN, *reply("r1", "Goodbye! [[end_call]]")],
        when=done("r1"),
        events=[
            ResponsePendingApproval(
                response_id="r1",
                text="Goodbye!",
                commands=(HeldCommand(command="end_call", source="marker"),),
            )
        ],
        effects=[CreateResponse(verbatim(HOLD_LINE))],
    ),
    Case(
        "approve_plays_its_audio_records_it_said_and_waits_to_carry_out_its_commands",
        given=live(APPROVAL),
        before=[*HELD, done("r1")],
        when=command(ApproveResponse, response_id="r1"),
        events=[
            ResponseApproved(response_id="r1", text=HELD_WORDS),
            said("r1", HELD_WORDS),
            executed("transfer", ALLOWED, "tool"),
        ],
        effects=[
            Play(PlayMedia(b64(AUDIO), f"r1:{len(AUDIO)}")),
            SaveAudio("r1", 0, AUDIO),
            output("call_1", {"ok": True}),
            After(HEARD_BOUND_S, HeardDeadline("r1")),
        ],
    ),
    Case(
        "approved_reply_heard_carries_out_its_transfer",
        given=live(APPROVAL),
        before=[*HELD, done("r1"), command(ApproveResponse, response_id="r1")],
        when=MarkPlayed(f"r1:{len(AUDIO)}"),
        effects=[Transfer(ALLOWED, "ai")],
    ),
    Case(
        "approve_with_new_words_has_the_model_say_them",
        given=live(APPROVAL),
        before=[*OPEN, *reply("r1", HELD_WORDS), done("r1")],
        when=command(ApproveResponse, response_id="r1", text="One moment, transferring."),
        events=[ResponseApproved(response_id="r1", text="One moment, transferring.")],
        # The hold line was asked for and has not begun: it is cancelled, the new words come instead.
        effects=[CancelResponse(), CreateResponse(verbatim("One moment, transferring."))],
    ),
    Case(
        "approved_words_asked_before_the_hold_line_began_wait_for_themselves_not_the_hold_line",
        given=live(APPROVAL),
        before=[
            *HELD,
            done("r1"),
            command(ApproveResponse, response_id="r1", text=NEW_WORDS),
            ResponseCreated(response_id="r2"),  # the hold line begins, and is cancelled at once
            done("r2", "cancelled"),
            *reply("r3", NEW_WORDS),
        ],
        when=done("r3"),
        events=[said("r3", NEW_WORDS)],
        effects=[SaveAudio("r3", 0, AUDIO), After(HEARD_BOUND_S, HeardDeadline("r3"))],
    ),
    Case(
        "approve_with_new_words_answers_its_tool_call_and_waits_for_them_to_be_said",
        given=live(APPROVAL),
        before=[*HELD, done("r1"), *HOLD_HEARD],
        when=command(ApproveResponse, response_id="r1", text=NEW_WORDS),
        events=[ResponseApproved(response_id="r1", text=NEW_WORDS), executed("transfer", ALLOWED, "tool")],
        effects=[CreateResponse(verbatim(NEW_WORDS)), output("call_1", {"ok": True})],
    ),
    Case(
        "approved_new_words_done_wait_to_be_heard",
        given=live(APPROVAL),
        before=APPROVED_NEW_WORDS,
        when=done("r3"),
        events=[said("r3", NEW_WORDS)],
        effects=[SaveAudio("r3", 0, AUDIO), After(HEARD_BOUND_S, HeardDeadline("r3"))],
    ),
    Case(
        "approved_new_words_heard_carry_out_the_transfer",
        given=live(APPROVAL),
        before=[*APPROVED_NEW_WORDS, done("r3")],
        when=MarkPlayed(f"r3:{len(AUDIO)}"),
        effects=[Transfer(ALLOWED, "ai")],
    ),
    Case(
        "approved_new_words_half_heard_carry_out_nothing_yet",
        given=live(APPROVAL),
        before=[*APPROVED_NEW_WORDS, done("r3")],
        when=MarkPlayed(f"r3:{HALF}"),
    ),
    Case(
        "approved_new_words_at_their_heard_deadline_carry_out_the_transfer",
        given=live(APPROVAL),
        before=[*APPROVED_NEW_WORDS, done("r3"), MarkPlayed(f"r3:{HALF}")],
        when=HeardDeadline("r3"),
        effects=[Transfer(ALLOWED, "ai")],
    ),
    Case(
        "approved_new_words_heard_before_they_were_done_carry_out_the_transfer_when_they_are",
        given=live(APPROVAL),
        before=[*APPROVED_NEW_WORDS, MarkPlayed(f"r3:{len(AUDIO)}")],
        when=done("r3"),
        events=[said("r3", NEW_WORDS)],
        effects=[SaveAudio("r3", 0, AUDIO), Transfer(ALLOWED, "ai")],
    ),
    Case(
        "approved_words_of_a_reply_held_by_a_worker_that_is_gone_heard_carry_out_its_transfer",
        given=[
            *live(APPROVAL),
            ResponsePendingApproval(response_id="r1", text=HELD_WORDS, commands=(HELD_COMMAND,)),
        ],
        before=[
            Restore(),
            SessionOpened(),
            command(ApproveResponse, response_id="r1"),
            *reply("r3", HELD_WORDS),
            done("r3"),
        ],
        when=MarkPlayed(f"r3:{len(AUDIO)}"),
        effects=[Transfer(ALLOWED, "ai")],
    ),
    Case(
        "approve_of_a_reply_held_by_a_worker_that_is_gone_has_the_model_say_it",
        given=[*live(APPROVAL), ResponsePendingApproval(response_id="r1", text=HELD_WORDS)],
        before=[Restore(), SessionOpened()],
        when=command(ApproveResponse, response_id="r1"),
        events=[ResponseApproved(response_id="r1", text=HELD_WORDS)],
        effects=[CreateResponse(verbatim(HELD_WORDS))],
    ),
    Case(
        "approve_of_a_reply_not_held_is_refused_as_a_conflict",
        given=live(APPROVAL),
        before=OPEN,
        when=command(ApproveResponse, response_id="r9"),
        refused="CONFLICT",
    ),
    Case(
        "approve_twice_is_refused_the_second_time",
        given=live(APPROVAL),
        before=[*OPEN, *reply("r1", HELD_WORDS), done("r1"), command(ApproveResponse, response_id="r1")],
        when=command(ApproveResponse, response_id="r1"),
        refused="CONFLICT",
    ),
)


@pytest.mark.parametrize("case", APPROVALS)
def test_replies_held_for_approval_wait_for_the_supervisor(case: Case) -> None:
    run_test(case)


# ---------------------------------------------------------------- the LLM's commands

GOODBYE = [*OPEN, *reply("r1", "Goodbye!", tools=[("end_call", "call_1", "{}")])]
ASK = "May I offer a $20 refund?"

LLM_COMMANDS = params(
    Case(
        "end_call_tool_is_recorded_and_waits_for_the_reply_to_be_heard",
        given=live(),
        before=GOODBYE,
        when=done("r1"),
        events=[said("r1", "Goodbye!"), executed("end_call", None, "tool")],
        effects=[
            SaveAudio("r1", 0, AUDIO),
            output("call_1", {"ok": True}),
            After(HEARD_BOUND_S, HeardDeadline("r1")),
        ],
    ),
    Case(
        "end_call_once_its_reply_is_heard_hangs_up_ai_ended",
        given=live(),
        before=[*GOODBYE, done("r1")],
        when=Later(3, MarkPlayed(f"r1:{len(AUDIO)}")),
        events=[ended("ai_ended", 3.0)],
        effects=[HangUp(), CloseSession()],
    ),
    Case(
        "end_call_at_the_heard_deadline_hangs_up_ai_ended",
        given=live(),
        before=[*GOODBYE, done("r1"), MarkPlayed(f"r1:{HALF}")],
        when=HeardDeadline("r1"),
        events=[ended("ai_ended")],
        effects=[HangUp(), CloseSession()],
    ),
    Case(
        "end_call_waits_while_its_reply_is_half_heard",
        given=live(),
        before=[*GOODBYE, done("r1")],
        when=MarkPlayed(f"r1:{HALF}"),
    ),
    Case(
        "end_call_heard_before_the_reply_was_done_hangs_up_when_it_is",
        given=live(),
        before=[*GOODBYE, MarkPlayed(f"r1:{len(AUDIO)}")],
        when=done("r1"),
        events=[said("r1", "Goodbye!"), executed("end_call", None, "tool"), ended("ai_ended")],
        effects=[SaveAudio, output("call_1", {"ok": True}), HangUp(), CloseSession()],
    ),
    Case(
        "end_call_marker_is_stripped_from_the_words_and_has_no_output",
        given=live(),
        before=[*OPEN, *reply("r1", "Goodbye! [[end_call]]")],
        when=done("r1"),
        events=[said("r1", "Goodbye!"), executed("end_call", None, "marker")],
        effects=[SaveAudio, After(HEARD_BOUND_S, HeardDeadline("r1"))],
    ),
    Case(
        "transfer_outside_the_allowlist_is_refused_and_the_model_told",
        given=live(),
        before=[
            *OPEN,
            *reply(
                "r1", "Transferring.", tools=[("transfer_call", "call_1", json.dumps({"target": FORBIDDEN}))]
            ),
        ],
        when=done("r1"),
        events=[
            said("r1", "Transferring."),
            executed("transfer", FORBIDDEN, "tool", accepted=False, reason=TRANSFER_REFUSED),
        ],
        effects=[SaveAudio, output("call_1", {"ok": False, "error": TRANSFER_REFUSED}), CreateResponse()],
    ),
    Case(
        "third_refusal_is_not_answered_with_a_new_turn",
        given=[
            *live(),
            executed("transfer", FORBIDDEN, "tool", accepted=False, reason=TRANSFER_REFUSED),
            executed("transfer", FORBIDDEN, "tool", accepted=False, reason=TRANSFER_REFUSED),
        ],
        before=[
            *OPEN,
            *reply(
                "r1", "", audio=b"", tools=[("transfer_call", "call_3", json.dumps({"target": FORBIDDEN}))]
            ),
        ],
        when=done("r1"),
        events=[executed("transfer", FORBIDDEN, "tool", accepted=False, reason=TRANSFER_REFUSED)],
        effects=[output("call_3", {"ok": False, "error": TRANSFER_REFUSED})],
    ),
    Case(
        "digits_the_line_cannot_play_are_refused",
        given=live(),
        before=[
            *OPEN,
            *reply("r1", "", audio=b"", tools=[("press_digits", "call_1", json.dumps({"digits": "12x"}))]),
        ],
        when=done("r1"),
        events=[executed("press", "12x", "tool", accepted=False, reason="digits must be 0-9, *, # or w")],
        effects=[output("call_1", {"ok": False, "error": "digits must be 0-9, *, # or w"}), CreateResponse()],
    ),
    Case(
        "transfer_in_the_allowlist_in_a_silent_reply_is_carried_out_at_once",
        given=live(),
        before=[
            *OPEN,
            *reply("r1", "", audio=b"", tools=[("transfer_call", "call_1", json.dumps({"target": ALLOWED}))]),
        ],
        when=done("r1"),
        events=[executed("transfer", ALLOWED, "tool")],
        effects=[output("call_1", {"ok": True}), Transfer(ALLOWED, "ai")],
    ),
    Case(
        "press_once_heard_plays_the_digits_and_reconnects_the_stream",
        given=live(),
        before=[
            *OPEN,
            *reply("r1", "Pressing one.", tools=[("press_digits", "call_1", '{"digits": "1"}')]),
            done("r1"),
        ],
        when=MarkPlayed(f"r1:{len(AUDIO)}"),
        effects=[PlayDigits("1", "ai", PARAMETERS)],
    ),
    Case(
        "ai_transfer_done_records_the_transfer_by_the_ai",
        given=[*live(), executed("transfer", ALLOWED, "tool")],
        before=OPEN,
        when=TelephonyDone("transfer", ALLOWED, "ai"),
        events=[CallTransferred(target=ALLOWED, by="ai"), ended("transferred")],
        effects=[CloseSession()],
    ),
    Case(
        "request_user_tool_asks_the_supervisor_and_pauses_the_models_replies",
        given=live(),
        before=[
            *OPEN,
            *reply("r1", "Let me check.", tools=[("request_user", "call_1", json.dumps({"question": ASK}))]),
        ],
        when=done("r1"),
        events=[
            said("r1", "Let me check."),
            executed("request_user", ASK, "tool"),
            ClarificationRequested(question=ASK, call_id="call_1"),
        ],
        effects=[SaveAudio, UpdateSession(replies_on(False))],
    ),
    Case(
        "request_user_marker_asks_the_supervisor_without_a_call_id",
        given=live(),
        before=[*OPEN, *reply("r1", f"Let me check. [[request_user: {ASK}]]")],
        when=done("r1"),
        events=[
            said("r1", "Let me check."),
            executed("request_user", ASK, "marker"),
            ClarificationRequested(question=ASK, call_id=None),
        ],
        effects=[SaveAudio, UpdateSession(replies_on(False))],
    ),
    Case(
        "answer_to_a_tool_question_resumes_replies_and_answers_the_call",
        given=live(),
        before=[
            *OPEN,
            *reply("r1", "Let me check.", tools=[("request_user", "call_1", json.dumps({"question": ASK}))]),
            done("r1"),
        ],
        when=command(AnswerClarification, response="Yes, up to $20."),
        events=[ClarificationAnswered(response="Yes, up to $20.")],
        effects=[
            UpdateSession(replies_on(True)),
            output("call_1", {"answer": "Yes, up to $20."}),
            CreateResponse(),
        ],
    ),
    Case(
        "answer_to_a_marker_question_resumes_replies_and_tells_the_model",
        given=[*live(), ClarificationRequested(question=ASK)],
        before=OPEN,
        when=command(AnswerClarification, response="Yes, up to $20."),
        events=[ClarificationAnswered(response="Yes, up to $20.")],
        effects=[
            UpdateSession(replies_on(True)),
            system_message("Your supervisor answered your question: Yes, up to $20."),
            CreateResponse(),
        ],
    ),
)


@pytest.mark.parametrize("case", LLM_COMMANDS)
def test_llm_commands_are_recorded_refused_or_carried_out_once_heard(case: Case) -> None:
    run_test(case)


# ---------------------------------------------------------------- a worker takes the call over

CONVERSATION: list[EventData] = [
    SpeechDetected(text="Hi, where is my order?", speaker="caller"),
    said("r1", "Let me check."),
    SupervisorTextSent(text="It ships today."),
    ClarificationRequested(question=ASK, call_id="call_1"),
    ClarificationAnswered(response="Yes."),
    SpeechDetected(text="Can I get a refund?", speaker="caller"),
]


def message(role: str, kind: str, text: str) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}


# A call taken over asks Twilio how it stands (PHONY_STATUS_CHECK_S after), whatever else it does.
ASKED = AskStatus(5.0)

RESTORES = params(
    Case(
        "live_call_with_media_reopens_the_session",
        given=[*live(), *CONVERSATION],
        when=Restore(),
        effects=[ASKED, OpenSession],
    ),
    Case(
        "call_not_streaming_yet_waits_for_its_stream_and_asks_twilio_how_it_stands",
        given=[started()],
        when=Restore(),
        effects=[ASKED],
    ),
    Case(
        "a_hang_up_twilio_reports_when_asked_ends_the_restored_call",
        given=[*live()],
        before=[Restore()],
        when=command(UpdateCallStatus, status="completed", duration=42.0),
        events=[ended("caller_hangup", duration=42.0)],
        effects=[CloseSession()],
    ),
    Case(
        "ended_call_is_not_restored",
        given=[*live(), executed("end_call", None, "tool"), ended("ai_ended")],
        when=Restore(),
    ),
    Case(
        "accepted_end_call_not_carried_out_is_carried_out",
        given=[*live(), executed("end_call", None, "tool")],
        when=Restore(),
        events=[ended("ai_ended")],
        effects=[HangUp(), CloseSession()],
    ),
    Case(
        "accepted_transfer_not_carried_out_is_carried_out",
        given=[*live(), executed("transfer", ALLOWED, "marker")],
        when=Restore(),
        effects=[ASKED, OpenSession, Transfer(ALLOWED, "ai")],
    ),
    Case(
        "accepted_press_not_carried_out_is_carried_out",
        given=[*live(), executed("press", "2", "tool")],
        when=Restore(),
        effects=[ASKED, OpenSession, PlayDigits("2", "ai", PARAMETERS)],
    ),
    Case(
        "transfer_twilio_took_is_not_carried_out_again",
        given=[*live(), executed("transfer", ALLOWED, "tool"), CallTransferred(target=ALLOWED, by="ai")],
        when=Restore(),
        effects=[ASKED, OpenSession],
    ),
    Case(
        "press_twilio_refused_is_not_tried_again",
        given=[
            *live(),
            executed("press", "2", "tool"),
            ErrorOccurred(error_type="telephony", message="no", code="TELEPHONY_ERROR"),
        ],
        when=Restore(),
        effects=[ASKED, OpenSession],
    ),
    Case(
        "press_twilio_took_is_not_carried_out_again",
        given=[*live(), executed("press", "2", "tool"), DtmfSent(digits="2", by="ai")],
        when=Restore(),
        effects=[ASKED, OpenSession],
    ),
    Case(
        "refused_command_is_not_carried_out",
        given=[*live(), executed("transfer", FORBIDDEN, "tool", accepted=False, reason=TRANSFER_REFUSED)],
        when=Restore(),
        effects=[ASKED, OpenSession],
    ),
    Case(
        "stop_of_the_stream_after_a_restored_transfer_does_nothing",
        given=[*live(), executed("transfer", ALLOWED, "tool")],
        before=[Restore()],
        when=command(StopMedia, stream_sid=STREAM),
    ),
    Case(
        "stop_of_the_stream_after_a_restored_press_does_nothing",
        given=[*live(), executed("press", "2", "tool")],
        before=[Restore()],
        when=command(StopMedia, stream_sid=STREAM),
    ),
)


@pytest.mark.parametrize("case", RESTORES)
def test_a_worker_taking_the_call_over_goes_on_with_it(case: Case) -> None:
    run_test(case)


def _opened(decision: Decision) -> OpenSession:
    found = [effect for effect in decision.effects if isinstance(effect, OpenSession)]
    assert len(found) == 1
    return found[0]


def test_restore_opens_the_session_with_the_conversation_so_far_and_answers_the_callers_last_turn() -> None:
    _, decision = run_test(
        Case("restore", given=[*live(), *CONVERSATION], when=Restore(), effects=[ASKED, OpenSession])
    )
    opened = _opened(decision)
    assert list(opened.items) == [
        message("user", "input_text", "Hi, where is my order?"),
        message("assistant", "output_text", "Let me check."),
        message("assistant", "output_text", "It ships today."),
        message("system", "input_text", "Your supervisor answered your question: Yes."),
        message("user", "input_text", "Can I get a refund?"),
    ]
    assert opened.then == (CreateResponse(),)  # no greeting again
    assert opened.session["audio"]["input"]["turn_detection"]["create_response"] is True


def test_restore_after_the_ai_answered_waits_for_the_caller() -> None:
    _, decision = run_test(
        Case(
            "restore",
            given=[*live(), *CONVERSATION, said("r2", "Sure.")],
            when=Restore(),
            effects=[ASKED, OpenSession],
        )
    )
    assert _opened(decision).then == ()


def test_restore_with_a_clarification_open_keeps_the_models_replies_paused() -> None:
    given = [
        *live(),
        CONVERSATION[0],
        CONVERSATION[1],
        ClarificationRequested(question=ASK, call_id="call_1"),
        CONVERSATION[-1],
    ]
    _, decision = run_test(Case("restore", given=given, when=Restore(), effects=[ASKED, OpenSession]))
    opened = _opened(decision)
    assert opened.then == ()  # the caller's turn waits for the supervisor's answer
    detection = opened.session["audio"]["input"]["turn_detection"]
    assert detection == replies_on(False)["audio"]["input"]["turn_detection"]


# ---------------------------------------------------------------- the fold


def test_fold_call_restores_what_decisions_need_from_events_alone() -> None:
    call = Call()
    call.given(
        *live(APPROVAL),
        ResponsePendingApproval(response_id="r1", text=HELD_WORDS, commands=(HELD_COMMAND,)),
        ResponsePendingApproval(response_id="r2", text="Bye."),
        ResponseApproved(response_id="r2", text="Bye."),
        ClarificationRequested(question=ASK, call_id="call_7"),
        executed("transfer", FORBIDDEN, "tool", accepted=False, reason=TRANSFER_REFUSED),
        executed("press", "12x", "marker", accepted=False, reason="bad digits"),
        executed("press", "2", "tool"),
        DtmfSent(digits="2", by="ai"),
        executed("end_call", None, "marker"),
    )
    state = call.state
    assert state.held == {"r1": HeldReply(HELD_WORDS, (HELD_COMMAND,))}
    assert state.pending_approval == {"r1": HELD_WORDS}
    assert (state.clarification, state.clarification_call_id, state.paused) == (ASK, "call_7", True)
    assert state.refusals == 2
    assert state.pending == PendingAction("end_call", None)
    assert state.awaiting_stream
    assert (state.stream_sid, state.status, state.answered_at) == (STREAM, "in-progress", T0)
    assert (state.seq, state.tenant_id) == (11, TENANT)

    call.given(
        AiResponse(response_id="r1", text=HELD_WORDS, audio_url=None, model=AGENT.model),
        ClarificationAnswered(response="Yes."),
        MediaStarted(stream_sid=NEW_STREAM),
        ended("ai_ended", 9.0),
    )
    state = call.state
    assert state.held == {}
    assert (state.clarification, state.clarification_call_id, state.paused) == (None, None, False)
    assert state.transcript[-2:] == [
        ("ai", HELD_WORDS),
        (NOTE, "Your supervisor answered your question: Yes."),
    ]
    assert (state.awaiting_stream, state.stream_sid) == (False, NEW_STREAM)
    assert (state.ended, state.end_reason, state.pending, state.live) == (True, "ai_ended", None, False)


def test_fold_call_keeps_no_pending_action_for_a_supervisor_command() -> None:
    call = Call()
    call.given(*live(), executed("transfer", ALLOWED, "supervisor"))
    assert call.state.pending is None


# ---------------------------------------------------------------- what the table tests found (fixed)


def test_stop_of_the_stream_a_transfer_replaces_does_not_end_the_call_as_a_hang_up() -> None:
    # Twilio stops the stream as it dials the target, maybe before its answer to the transfer
    # reaches the call: the transfer in flight tells that stop apart from the caller hanging up.
    call, _ = run_test(
        Case(
            "transfer race",
            given=live(),
            before=[*OPEN, command(TransferCall, target=ALLOWED)],
            when=command(StopMedia, stream_sid=STREAM),
        )
    )
    transferred = call.step(TelephonyDone("transfer", ALLOWED, "supervisor"))
    assert transferred.events == [CallTransferred(target=ALLOWED, by="supervisor"), ended("transferred")]
    assert transferred.effects == [CloseSession()]


def _function_calls_known_to_the_session(call: Call) -> set[str]:
    opened = [e for d in call.history for e in d.effects if isinstance(e, OpenSession)]
    assert opened, "the session was reopened"
    return {str(i["call_id"]) for i in opened[-1].items if i.get("type") == "function_call"}


def _outputs(decision: Decision) -> set[str]:
    return {
        str(e.item["call_id"])
        for e in decision.effects
        if isinstance(e, AddItem) and e.item.get("type") == "function_call_output"
    }


def test_answer_after_a_restore_reaches_the_reopened_session() -> None:
    # The reopened session has the conversation as messages only (history_items): the function call
    # that asked is not in it, so the model is told the answer in a message.
    call, decision = run_test(
        Case(
            "answer after restore",
            given=[*live(), *CONVERSATION[:3], ClarificationRequested(question=ASK, call_id="call_1")],
            before=[Restore(), SessionOpened()],
            when=command(AnswerClarification, response="Yes."),
            events=[ClarificationAnswered(response="Yes.")],
            effects=[
                UpdateSession(replies_on(True)),
                system_message("Your supervisor answered your question: Yes."),
                CreateResponse(),
            ],
        )
    )
    assert _outputs(decision) <= _function_calls_known_to_the_session(call)


def test_approve_after_a_restore_answers_only_function_calls_the_reopened_session_has() -> None:
    # The reply's transfer is recorded (and waits for its words to be heard), but its tool call
    # belonged to the gone worker's session: no function_call_output for it.
    call, decision = run_test(
        Case(
            "approve after restore",
            given=[
                *live(APPROVAL),
                ResponsePendingApproval(response_id="r1", text=HELD_WORDS, commands=(HELD_COMMAND,)),
            ],
            before=[Restore(), SessionOpened()],
            when=command(ApproveResponse, response_id="r1"),
            events=[
                ResponseApproved(response_id="r1", text=HELD_WORDS),
                executed("transfer", ALLOWED, "tool"),
            ],
            effects=[CreateResponse(verbatim(HELD_WORDS))],
        )
    )
    assert _outputs(decision) <= _function_calls_known_to_the_session(call)


@pytest.mark.parametrize("status", ["cancelled", "incomplete"])
def test_a_held_reply_that_does_not_complete_carries_out_nothing_without_approval(status: str) -> None:
    # Cut short before anyone approved it: not said (the caller never heard it), no approval asked,
    # no hold line, its transfer not carried out, its audio not stored.
    run_test(Case("held, not completed", given=live(APPROVAL), before=HELD, when=done("r1", status)))


@pytest.mark.parametrize("gone", [False, True], ids=["new_words", "held_by_a_gone_worker"])
def test_an_approved_goodbye_said_by_the_model_hangs_up_only_after_it_is_said(gone: bool) -> None:
    goodbye = HeldCommand(command="end_call", source="marker")
    if gone:
        given = [*live(APPROVAL), ResponsePendingApproval(response_id="r1", text="Bye.", commands=(goodbye,))]
        before: list[Step] = [Restore(), SessionOpened()]
        words, approve = "Bye.", command(ApproveResponse, response_id="r1")
    else:
        given = live(APPROVAL)
        before = [*OPEN, *reply("r1", "Bye. [[end_call]]"), done("r1"), *HOLD_HEARD]
        words = "Thank you, goodbye."
        approve = command(ApproveResponse, response_id="r1", text=words)
    call, _ = run_test(
        Case(
            "approved goodbye",
            given=given,
            before=before,
            when=approve,
            events=[ResponseApproved(response_id="r1", text=words), executed("end_call", None, "marker")],
            effects=[CreateResponse(verbatim(words))],
        )
    )
    for step in [*reply("r3", words), done("r3")]:
        assert not [e for e in call.step(step).events if isinstance(e, CallEnded)]
    heard = call.step(MarkPlayed(f"r3:{len(AUDIO)}"))
    assert (heard.events, heard.effects) == ([ended("ai_ended")], [HangUp(), CloseSession()])


def test_a_held_reply_is_saved_in_the_recording_where_the_caller_hears_it() -> None:
    call, _ = run_test(
        Case(
            "held audio",
            given=live(APPROVAL),
            before=[*OPEN, CallerAt(12_000), *reply("r1", HELD_WORDS), done("r1"), CallerAt(15_000)],
            when=command(ApproveResponse, response_id="r1"),
            events=[ResponseApproved(response_id="r1", text=HELD_WORDS), said("r1", HELD_WORDS)],
            effects=[Play(PlayMedia(b64(AUDIO), f"r1:{len(AUDIO)}")), SaveAudio("r1", 15_000, AUDIO)],
        )
    )
    saved = [e.start_ms for d in call.history for e in d.effects if isinstance(e, SaveAudio)]
    assert saved == [15_000]


def test_a_clarification_nobody_asked_for_is_refused_as_a_conflict() -> None:
    run_test(
        Case(
            "clarification_nobody_asked_for",
            given=live(),
            before=OPEN,
            when=command(AnswerClarification, response="yes"),
            refused="CONFLICT",
        )
    )


def test_a_long_call_keeps_only_its_last_replies_and_none_of_their_audio() -> None:
    call = Call()
    call.given(*live())
    call.step(SessionOpened())
    for n in range(20):
        for step in [*reply(f"r{n}", "Yes, I'm still here."), done(f"r{n}")]:
            call.step(step)
        call.step(MarkPlayed(f"r{n}:{len(AUDIO)}"))
    assert len(call.session.replies) <= KEEP_REPLIES + 2  # and the one playing, the one streaming
    assert sum(len(r.audio) for r in call.session.replies.values()) == 0


def test_restore_of_a_call_cut_off_in_its_greeting_greets_again() -> None:
    _, decision = run_test(Case("restore", given=live(), when=Restore(), effects=[ASKED, OpenSession]))
    assert _opened(decision).then == (CreateResponse(verbatim(AGENT.greeting_message or "")),)
