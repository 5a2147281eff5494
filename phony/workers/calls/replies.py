"""Decisions on what the model does: its replies as they stream (audio to the caller, barge-in,
approval), the caller's transcribed turns, and the commands its replies carry. Pure."""

from __future__ import annotations

import base64
import json
import math
from typing import Any, Literal

from phony.commands.playback import ClearPlayback, PlayMedia
from phony.events.calls import (
    AiResponse,
    ClarificationRequested,
    CommandExecuted,
    ErrorOccurred,
    HeldCommand,
    LatencyMeasured,
    ResponseInterrupted,
    ResponsePendingApproval,
    SpeechDetected,
)
from phony.workers.calls.decision import HOLD_LINE, Context, Decision, end, speak, stream_parameters
from phony.workers.calls.effects import (
    AddItem,
    After,
    CreateResponse,
    Effect,
    Play,
    PlayDigits,
    SaveAudio,
    Transfer,
    Truncate,
    UpdateSession,
)
from phony.workers.calls.inputs import HeardDeadline
from phony.workers.calls.instructions import paused_replies
from phony.workers.calls.llm_commands import (
    LlmCommand,
    allowed_transfer,
    extract_markers,
    from_tool,
    valid_digits,
)
from phony.workers.calls.model_events import (
    AudioDelta,
    FunctionCallDone,
    ModelError,
    OutputItemAdded,
    ResponseCreated,
    ResponseDone,
    SpeechStarted,
    TranscriptDelta,
    TranscriptDone,
    TranscriptionCompleted,
)
from phony.workers.calls.session_view import Deferred, Reply, SessionView
from phony.workers.calls.state import CallState

Source = Literal["tool", "marker"]
MAX_SPOKEN_REFUSALS = 2
HEARD_GRACE_S = 2.0  # beyond a reply's own length, how long to wait for Twilio to confirm it played
BYTES_PER_S = 8000  # μ-law, 8 kHz


def barge_in(session: SessionView, _: SpeechStarted) -> Decision:
    """The caller spoke over the AI: stop what the caller hears, tell the model how much was heard."""
    playing = session.replies.get(session.playing or "")
    if playing is None or playing.played >= playing.sent or playing.item_id is None:
        return Decision()
    playing.interrupted = True
    session.playing = None
    played_ms = playing.played * 1000 // BYTES_PER_S
    return Decision(
        [ResponseInterrupted(response_id=playing.id, played_ms=played_ms)],
        [Play(ClearPlayback()), Truncate(playing.item_id, played_ms)],
        act_first=True,
    )


def caller_turn(event: TranscriptionCompleted) -> Decision:
    text = event.transcript.strip()
    if not text:
        return Decision()
    confidence = transcript_confidence(event.logprobs)
    return Decision(
        [SpeechDetected(text=text, speaker="caller", confidence=confidence, item_id=event.item_id)]
    )


def transcript_confidence(logprobs: Any) -> float | None:
    """How sure the transcriber was of a turn: the geometric mean of its tokens' probabilities, from
    the ``logprobs`` the session asks for (``None`` when the transcriber gives none)."""
    if not isinstance(logprobs, list | tuple):
        return None
    found = [p.get("logprob") if isinstance(p, dict) else getattr(p, "logprob", None) for p in logprobs]
    values = [float(v) for v in found if isinstance(v, int | float)]
    return round(math.exp(sum(values) / len(values)), 3) if values else None


def reply_created(state: CallState, session: SessionView, event: ResponseCreated) -> Decision:
    is_verbatim = session.verbatim_pending > 0
    if is_verbatim:
        session.verbatim_begun += 1
    held = bool(state.agent and state.agent.require_approval and not is_verbatim)
    session.forget_old_replies()
    session.replies[event.response_id] = Reply(id=event.response_id, held=held, verbatim=is_verbatim)
    session.current = event.response_id
    if is_verbatim and session.after_speech and session.verbatim_begun == session.after_speech_words:
        # Commands of an approved reply whose words the model is saying now: once they are heard.
        session.after_heard[event.response_id], session.after_speech = session.after_speech, []
    return Decision()


def output_item(session: SessionView, event: OutputItemAdded) -> Decision:
    reply = session.reply(event.response_id)
    if reply is not None and event.item_type == "message" and reply.item_id is None:
        reply.item_id = event.item_id
    return Decision()


def audio_delta(session: SessionView, ctx: Context, event: AudioDelta) -> Decision:
    """The hot path: a model audio delta goes to the caller as it came, followed by its mark."""
    reply = session.reply(event.response_id)
    if reply is None or reply.interrupted:
        return Decision()  # not this session's, or the caller barged in: the rest is not played
    first = not reply.audio
    audio = base64.b64decode(event.delta)
    reply.audio += audio
    if reply.held:
        return Decision()
    reply.sent += len(audio)
    session.playing = reply.id
    decision = Decision([], [Play(PlayMedia(event.delta, f"{reply.id}:{reply.sent}"))], act_first=True)
    if first:
        reply.start_ms = session.stream_ms
        if session.speech_stopped_at is not None:
            # Recorded with the reply's own events at its end: an append here would hold up the
            # reply's next deltas behind a transaction.
            reply.latency_ms = round((ctx.mono - session.speech_stopped_at) * 1000, 1)
            session.speech_stopped_at = None
    return decision


def transcript_delta(session: SessionView, event: TranscriptDelta) -> Decision:
    reply = session.reply(event.response_id)
    if reply is not None:
        reply.text += event.delta
    return Decision()


def transcript_done(session: SessionView, event: TranscriptDone) -> Decision:
    reply = session.reply(event.response_id)
    if reply is not None:
        reply.transcript = event.transcript
    return Decision()


def function_call(session: SessionView, event: FunctionCallDone) -> Decision:
    reply = session.reply(event.response_id)
    if reply is not None:
        try:
            arguments = json.loads(event.arguments or "{}")
        except json.JSONDecodeError:
            arguments = {}
        reply.tools.append((event.name, event.call_id, arguments if isinstance(arguments, dict) else {}))
        session.call_ids.add(event.call_id)
    return Decision()


def model_error(event: ModelError) -> Decision:
    return Decision(
        [
            ErrorOccurred(
                error_type=f"model.{event.error_type}",
                message=event.message,
                code=event.code or "model_error",
            )
        ]
    )


def ai_response(state: CallState, ctx: Context, reply: Reply, text: str) -> AiResponse:
    return AiResponse(
        response_id=reply.id,
        text=text,
        audio_url=ctx.audio_url(reply.id) if reply.audio or reply.audio_ms else None,
        model=state.agent.model if state.agent else "",
        interrupted=reply.interrupted,
        audio_ms=len(reply.audio) // 8 or reply.audio_ms,
    )


def reply_done(state: CallState, session: SessionView, ctx: Context, event: ResponseDone) -> Decision:
    """A reply finished: recorded (held for approval, or as said), then the commands it carried."""
    reply = session.reply(event.response_id)
    if reply is None:
        return Decision()
    if session.current == reply.id:
        session.current = None
    reply.done = True
    reply.interrupted = reply.interrupted or event.status == "cancelled"
    text, markers = extract_markers(reply.transcript or reply.text)
    decision = Decision()
    if reply.latency_ms is not None:
        decision.events.append(LatencyMeasured(metric="turn_latency_ms", ms=reply.latency_ms))
    if reply.held:
        if event.status != "completed":
            return decision  # cut short before anyone approved it: nothing of it happens
        # Its words and its commands wait for the supervisor; the caller hears the hold line. (Its
        # audio is stored once approved, where the caller hears it.)
        held = held_commands(reply, markers)
        decision.events.append(ResponsePendingApproval(response_id=reply.id, text=text, commands=held))
        decision.effects += speak(session, HOLD_LINE)
        return decision
    if reply.audio:
        decision.effects.append(SaveAudio(reply.id, reply.start_ms, bytes(reply.audio)))
    audio_ms = len(reply.audio) // 8
    reply.audio = bytearray()  # stored; what it is still needed for is how much was sent and heard
    reply.audio_ms = audio_ms
    if reply.id in session.after_heard:
        decision.add(_await_heard(state, session, ctx, reply))
    if text or reply.audio_ms:
        decision.events.append(ai_response(state, ctx, reply, text))
    commands: list[tuple[LlmCommand, Source, str | None]] = [(c, "tool", i) for c, i in _tools(reply)]
    commands += [(c, "marker", None) for c in markers]
    return decision.add(llm_commands(state, session, ctx, reply, commands))


def _await_heard(state: CallState, session: SessionView, ctx: Context, reply: Reply) -> Decision:
    """What waits for ``reply`` to be heard: now if it has been, else when it is (bounded)."""
    if reply.heard_all:
        return heard(state, session, ctx, reply.id)
    bound = (reply.sent - reply.played) / BYTES_PER_S + HEARD_GRACE_S
    return Decision([], [After(max(0.1, bound), HeardDeadline(reply.id))])


def _tools(reply: Reply) -> list[tuple[LlmCommand, str | None]]:
    found = [(from_tool(name, args), call_id) for name, call_id, args in reply.tools]
    return [(command, call_id) for command, call_id in found if command is not None]


def held_commands(reply: Reply, markers: list[LlmCommand]) -> tuple[HeldCommand, ...]:
    tools = [
        HeldCommand(command=c.name, argument=c.argument, source="tool", call_id=call_id)
        for c, call_id in _tools(reply)
    ]
    marked = [HeldCommand(command=c.name, argument=c.argument, source="marker") for c in markers]
    return (*tools, *marked)


def llm_commands(
    state: CallState,
    session: SessionView,
    ctx: Context,
    reply: Reply | None,
    commands: list[tuple[LlmCommand, Source, str | None]],
    after_speech: bool = False,
) -> Decision:
    """The commands a reply carried (tools first, then markers): each recorded as
    ``command.executed``, refused with the model told why, or carried out once the caller has heard
    the reply (``after_speech``: once the words the model is about to say are heard). A function call
    of an earlier session (before a takeover) cannot be answered: the model is told in a message."""
    decision = Decision()
    refusals = state.refusals
    for command, source, call_id in commands:
        executed = CommandExecuted(command=command.name, argument=command.argument, source=source)
        reason = _refusal(state, command)
        if reason is not None:
            refusals += 1
            decision.events.append(executed.model_copy(update={"accepted": False, "reason": reason}))
            told = _tool_output(session, call_id, {"ok": False, "error": reason})
            decision.effects += told
            if told and refusals <= MAX_SPOKEN_REFUSALS:
                decision.effects.append(CreateResponse())
            continue
        decision.events.append(executed)
        if command.name == "request_user":
            question = command.argument or ""
            decision.events.append(ClarificationRequested(question=question, call_id=call_id))
            decision.effects.append(UpdateSession(paused_replies(ctx.settings, True)))
            continue
        decision.effects += _tool_output(session, call_id, {"ok": True})
        if after_speech:
            session.after_speech.append(Deferred(command, call_id))
            session.after_speech_words = session.verbatim_asked  # the words just asked for
        else:
            decision.add(defer(state, session, ctx, reply, Deferred(command, call_id)))
    return decision


def _refusal(state: CallState, command: LlmCommand) -> str | None:
    allowlist = state.agent.transfer_allowlist if state.agent else []
    if command.name == "transfer" and not allowed_transfer(command.argument, allowlist):
        return "target not in the agent's transfer allowlist"
    if command.name == "press" and not valid_digits(command.argument):
        return "digits must be 0-9, *, # or w"
    return None


def _tool_output(session: SessionView, call_id: str | None, output: dict[str, object]) -> list[Effect]:
    if call_id is None or call_id not in session.call_ids:
        return []
    return [function_output(call_id, output)]


def function_output(call_id: str, output: dict[str, object]) -> AddItem:
    """The answer to the model's function call ``call_id``."""
    return AddItem({"type": "function_call_output", "call_id": call_id, "output": json.dumps(output)})


def defer(
    state: CallState, session: SessionView, ctx: Context, reply: Reply | None, deferred: Deferred
) -> Decision:
    """Carry ``deferred`` out once the caller has heard ``reply`` (bounded by its length and a grace)."""
    if reply is None or reply.heard_all or reply.held:
        return carry_out(state, session, ctx, deferred)
    waiting = session.after_heard.setdefault(reply.id, [])
    decision = Decision()
    if not waiting:
        bound = (reply.sent - reply.played) / BYTES_PER_S + HEARD_GRACE_S
        decision.effects.append(After(max(0.1, bound), HeardDeadline(reply.id)))
    waiting.append(deferred)
    return decision


def heard(state: CallState, session: SessionView, ctx: Context, response_id: str) -> Decision:
    """What waited for the caller to hear a reply."""
    decision = Decision()
    for deferred in session.after_heard.pop(response_id, []):
        decision.add(carry_out(state, session, ctx, deferred))
    return decision


def carry_out(state: CallState, session: SessionView, ctx: Context, deferred: Deferred) -> Decision:
    """An accepted LLM command's action on the call."""
    command = deferred.command
    match command.name:
        case "end_call":
            return end(state, session, ctx, "ai_ended", hang_up=True)
        case "transfer" if command.argument:
            session.transfer_in_flight = True
            return Decision([], [Transfer(command.argument, "ai")])
        case "press" if command.argument:
            session.digits_in_flight = True
            return Decision([], [PlayDigits(command.argument, "ai", stream_parameters(state))])
    return Decision()
