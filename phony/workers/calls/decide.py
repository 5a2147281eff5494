"""The call aggregate's decider: ``decide_call(state, session, input, ctx) -> Decision``.

``state`` is folded from the call's events (``fold_call``), ``session`` is what the decisions
remember of the current model session, ``input`` is a call command, a model observation or what came
back from an effect. Pure: no I/O and no clock of its own; the actor appends the events and hands the
effects to the executor. Like ``decide_agent`` and ``decide_tenant``, with one writer per call.
"""

from __future__ import annotations

import base64

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
from phony.commands.playback import CloseStream, PlayMedia
from phony.events import EventData
from phony.events.calls import (
    CallAnswered,
    CallEnded,
    CallRinging,
    CallStarted,
    CallTransferred,
    ClarificationAnswered,
    DtmfReceived,
    DtmfSent,
    EndReason,
    ErrorOccurred,
    MediaStarted,
    ResponseApproved,
    SupervisorTextSent,
)
from phony.workers.calls import replies
from phony.workers.calls.decision import (
    Context,
    Decision,
    end,
    model_lost,
    open_session,
    speak,
    stream_parameters,
)
from phony.workers.calls.effects import (
    AddItem,
    AskStatus,
    CloseSession,
    CreateResponse,
    Effect,
    Play,
    PlayDigits,
    SaveAudio,
    Transfer,
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
from phony.workers.calls.instructions import paused_replies
from phony.workers.calls.llm_commands import LlmCommand
from phony.workers.calls.model_events import (
    AudioDelta,
    FunctionCallDone,
    ModelError,
    OutputItemAdded,
    ResponseCreated,
    ResponseDone,
    SessionReady,
    SpeechStarted,
    SpeechStopped,
    TranscriptDelta,
    TranscriptDone,
    TranscriptionCompleted,
)
from phony.workers.calls.session_view import SessionView
from phony.workers.calls.state import TELEPHONY_ERROR, CallState, duration_s

TERMINAL: dict[str, EndReason] = {
    "completed": "caller_hangup",
    "busy": "busy",
    "no-answer": "no_answer",
    "failed": "failed",
    "canceled": "canceled",
}


def decide_call(state: CallState, session: SessionView, input: CallInput, ctx: Context) -> Decision:
    """The events and effects that follow from ``input`` given the call's state."""
    if state.ended and not isinstance(input, RegisterOutboundCall | AcceptInboundCall | StartMedia):
        return Decision()  # an ended call decides nothing more (late observations, late commands)
    match input:
        # The model, hot path first.
        case AudioDelta():
            return replies.audio_delta(session, ctx, input)
        case SpeechStarted():
            return replies.barge_in(session, input)
        case SpeechStopped():
            session.speech_stopped_at = ctx.mono
            return Decision()
        case TranscriptionCompleted():
            return replies.caller_turn(input)
        case ResponseCreated():
            return replies.reply_created(state, session, input)
        case OutputItemAdded():
            return replies.output_item(session, input)
        case TranscriptDelta():
            return replies.transcript_delta(session, input)
        case TranscriptDone():
            return replies.transcript_done(session, input)
        case FunctionCallDone():
            return replies.function_call(session, input)
        case ResponseDone():
            return replies.reply_done(state, session, ctx, input)
        case ModelError():
            return replies.model_error(input)
        case SessionReady():
            return Decision()
        # What came back from effects.
        case MarkPlayed():
            return _mark_played(state, session, ctx, input)
        case HeardDeadline():
            return replies.heard(state, session, ctx, input.response_id)
        case _:
            return _decide_other(state, session, input, ctx)


def _decide_other(state: CallState, session: SessionView, input: CallInput, ctx: Context) -> Decision:
    match input:
        case SessionOpened():
            session.opening, session.open = False, True
            return Decision()
        case SessionLost():
            session.opening = session.open = False
            return model_lost(state, session, ctx, input.message)
        case TelephonyDone():
            return _telephony_done(state, session, ctx, input)
        case TelephonyFailed():
            if input.action == "digits":
                session.digits_in_flight = False
            else:
                session.transfer_in_flight = False
            what = "transfer to" if input.action == "transfer" else "digits"
            message = f"Twilio refused the {what} {input.argument}: {input.message}"
            return Decision([ErrorOccurred(error_type="telephony", message=message, code=TELEPHONY_ERROR)])
        case Restore():
            return _restore(state, session, ctx)
        case RegisterOutboundCall() | AcceptInboundCall():
            return _start(state, ctx, input)
        case UpdateCallStatus():
            return _status(state, session, ctx, input)
        case StartMedia():
            return _media_started(state, session, ctx, input)
        case StopMedia():
            replacing = state.awaiting_stream or session.digits_in_flight or session.transfer_in_flight
            if state.stream_sid != input.stream_sid or replacing:
                return Decision()  # a stream that was replaced, or that DTMF or a transfer replaces
            return end(state, session, ctx, "caller_hangup", hang_up=False)
        case RecordError():
            if not state.exists:
                return Decision()
            error = ErrorOccurred(error_type=input.error_type, message=input.message, code=input.code)
            return Decision([error])
        case ReceiveDigit():
            return Decision([DtmfReceived(digit=input.digit)] if state.live else [])
    if not state.live:
        return Decision()  # ended meanwhile: the edge already answered; nothing to do
    return _supervise(state, session, ctx, input)


def _start(state: CallState, ctx: Context, command: RegisterOutboundCall | AcceptInboundCall) -> Decision:
    if state.exists:
        return Decision()
    inbound = isinstance(command, AcceptInboundCall)
    started = CallStarted(
        callSid=ctx.call_sid,
        **{"from": command.from_},
        to=command.to,
        timestamp=ctx.now.isoformat(),
        direction="inbound" if inbound else "outbound",
        agent_id=command.agent_id,
        scenario=getattr(command, "scenario", None),
        metadata=getattr(command, "metadata", {}),
        agent=command.agent,
    )
    events: list[EventData] = [started]
    if command.agent_id is None:
        message = f"no active agent answers {command.to}"
        events += [
            ErrorOccurred(error_type="routing", message=message, code="NO_AGENT"),
            CallEnded(callSid=ctx.call_sid, duration=0.0, reason="no_agent"),
        ]
    return Decision(events)


def _status(state: CallState, session: SessionView, ctx: Context, command: UpdateCallStatus) -> Decision:
    if not state.live:
        return Decision()
    if command.status == "ringing" and state.status == "queued":
        return Decision([CallRinging()])
    if command.status in ("in-progress", "answered") and state.answered_at is None:
        return Decision([CallAnswered()])
    reason = TERMINAL.get(command.status)
    if reason is None or session.ending:
        return Decision()
    session.ending = True
    duration = float(command.duration) if command.duration is not None else duration_s(state, ctx.now)
    return Decision([CallEnded(callSid=ctx.call_sid, duration=duration, reason=reason)], [CloseSession()])


def _media_started(state: CallState, session: SessionView, ctx: Context, command: StartMedia) -> Decision:
    if not state.exists or state.ended:
        # Nobody will answer this stream: the edge holding it closes it (1008) with the reason.
        reason = "call has ended" if state.exists else "unknown call"
        return Decision([], [Play(CloseStream(reason))])
    started = MediaStarted(stream_sid=command.stream_sid)
    if state.media_started and (session.open or session.opening):
        # The same call on a new stream (after DTMF), or a start for a call being restored: the
        # session goes on.
        session.digits_in_flight = False
        return Decision([started])
    # Twilio opens a stream only on an answered call, but its "in-progress" status callback is sent
    # on its own and may come later: the stream is the proof, so the answer comes first.
    decision = Decision([CallAnswered()] if state.answered_at is None else [])
    decision.events.append(started)
    if state.agent is None:
        return decision.add(model_lost(state, session, ctx, "the call has no agent settings"))
    restoring = bool(state.transcript)
    return decision.add(open_session(state, session, ctx, restore=restoring))


def _supervise(state: CallState, session: SessionView, ctx: Context, input: CallInput) -> Decision:
    match input:
        case SendText():
            # The model first (a supervisor waits to hear it), the record after.
            effects: list[Effect] = list(speak(session, input.text))
            return Decision([SupervisorTextSent(text=input.text)], effects, act_first=True)
        case TransferCall():
            session.transfer_in_flight = True
            return Decision([], [Transfer(input.target, "supervisor", input.id)])
        case SendDigits():
            session.digits_in_flight = True
            return Decision([], [PlayDigits(input.digits, "supervisor", stream_parameters(state), input.id)])
        case EndCall():
            return end(state, session, ctx, "supervisor_ended", hang_up=True)
        case AnswerClarification():
            return _answer(state, session, ctx, input)
        case ApproveResponse():
            return _approve(state, session, ctx, input)
    return Decision()


def _answer(state: CallState, session: SessionView, ctx: Context, command: AnswerClarification) -> Decision:
    if state.clarification is None:
        message = "the AI has asked nothing: no clarification is pending"
        return Decision.refuse("CONFLICT", 409, message, callSid=ctx.call_sid)
    call_id = state.clarification_call_id
    effects: list[Effect] = [UpdateSession(paused_replies(ctx.settings, False))]
    if call_id and call_id in session.call_ids:
        effects.append(replies.function_output(call_id, {"answer": command.response}))
    else:  # asked with a marker, or by a session replaced since: there is no call to answer
        text = f"Your supervisor answered your question: {command.response}"
        content = [{"type": "input_text", "text": text}]
        effects.append(AddItem({"type": "message", "role": "system", "content": content}))
    effects.append(CreateResponse())
    return Decision([ClarificationAnswered(response=command.response)], effects)


def _approve(state: CallState, session: SessionView, ctx: Context, command: ApproveResponse) -> Decision:
    held = state.held.get(command.response_id)
    if held is None:
        return Decision.refuse(
            "CONFLICT",
            409,
            "that response is not awaiting approval",
            callSid=ctx.call_sid,
            response_id=command.response_id,
            awaiting_approval=sorted(state.held),
        )
    decision = Decision([ResponseApproved(response_id=command.response_id, text=command.text or held.text)])
    reply = session.replies.get(command.response_id)
    changed = command.text is not None and command.text != held.text
    commands = [(LlmCommand(c.command, c.argument), c.source, c.call_id) for c in held.commands]
    if changed or reply is None or not reply.audio:
        # New words, or a reply held by a worker that is gone (its audio with it): the model says
        # them, and what the reply carried waits until they are heard.
        decision.effects += speak(session, command.text or held.text)
        return decision.add(replies.llm_commands(state, session, ctx, None, commands, after_speech=True))
    reply.held = False
    reply.sent = len(reply.audio)
    reply.start_ms = session.stream_ms
    session.playing = reply.id
    audio = base64.b64encode(bytes(reply.audio)).decode()
    decision.effects.append(Play(PlayMedia(audio, f"{reply.id}:{reply.sent}")))
    decision.effects.append(SaveAudio(reply.id, reply.start_ms, bytes(reply.audio)))
    decision.events.append(replies.ai_response(state, ctx, reply, held.text))
    return decision.add(replies.llm_commands(state, session, ctx, reply, commands))


def _mark_played(state: CallState, session: SessionView, ctx: Context, mark: MarkPlayed) -> Decision:
    """A mark echoed by Twilio: ``<response id>:<bytes sent before it>`` has been heard."""
    response_id, _, count = mark.name.rpartition(":")
    reply = session.replies.get(response_id)
    if reply is None or not count.isdigit():
        return Decision()
    reply.note_played(int(count))
    if reply.heard_all and response_id in session.after_heard:
        return replies.heard(state, session, ctx, response_id)
    return Decision()


def _telephony_done(state: CallState, session: SessionView, ctx: Context, done: TelephonyDone) -> Decision:
    by = "ai" if done.by == "ai" else "supervisor"
    if done.action == "digits":
        session.digits_in_flight = False
        return Decision([DtmfSent(digits=done.argument, by=by)])
    if session.ending:
        return Decision()
    session.ending = True
    ended = CallEnded(callSid=ctx.call_sid, duration=duration_s(state, ctx.now), reason="transferred")
    return Decision([CallTransferred(target=done.argument, by=by), ended], [CloseSession()])


def _restore(state: CallState, session: SessionView, ctx: Context) -> Decision:
    """Going on with a call another worker owned: reopen its model session with the conversation so
    far, carry out what the old owner had accepted but not done, and ask Twilio how the call stands."""
    if not state.live:
        return Decision()
    pending = state.pending
    if pending is not None and pending.command == "end_call":
        return end(state, session, ctx, "ai_ended", hang_up=True)  # the AI had said goodbye
    # Twilio may have hung up while no Phony could hear it (the whole server down): ask it.
    decision = Decision([], [AskStatus(ctx.settings.status_check_s)])
    if state.media_started and state.agent is not None:
        decision.add(open_session(state, session, ctx, restore=True))
    if pending is None or pending.argument is None:
        return decision
    match pending.command:
        case "transfer":
            session.transfer_in_flight = True
            decision.effects.append(Transfer(pending.argument, "ai"))
        case "press" if not state.awaiting_stream:
            session.digits_in_flight = True
            decision.effects.append(PlayDigits(pending.argument, "ai", stream_parameters(state)))
    return decision
