"""Handles call commands and caller audio for the calls on this worker's partitions."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

from twilio.base.exceptions import TwilioRestException

from phony.commands import publish_outcome, tell_applied
from phony.commands.audio import AudioFrame
from phony.commands.calls import (
    AcceptInboundCall,
    AnswerClarification,
    ApproveResponse,
    CallCommand,
    EndCall,
    PlaceCall,
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
from phony.events import EventData
from phony.events.calls import (
    CallAnswered,
    CallEnded,
    CallRinging,
    CallStarted,
    ClarificationAnswered,
    DtmfReceived,
    EndReason,
    ErrorOccurred,
    MediaStarted,
    SupervisorTextSent,
)
from phony.events.log import Topics
from phony.workers.calls.actions import CallActions
from phony.workers.calls.context import CallDeps, audio_channel
from phony.workers.calls.session import LiveCall
from phony.workers.calls.state import CallState, duration_s
from phony.workers.decisions import Refusal, rejected

log = logging.getLogger(__name__)

TERMINAL: dict[str, EndReason] = {
    "completed": "completed",
    "busy": "busy",
    "no-answer": "no_answer",
    "failed": "failed",
    "canceled": "canceled",
}


class CallHandler:
    def __init__(self, deps: CallDeps) -> None:
        self.deps = deps
        self.actions = CallActions(deps)
        self._opening: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        for sid in list(self.deps.live):
            await self.actions.close_session(sid)

    # ------------------------------------------------------------------ audio topic
    async def audio(self, frames: list[AudioFrame]) -> None:
        """A batch's caller frames and mark echoes, in log order; those of a call with no session here
        (not started yet, or ended) are dropped. A call's consecutive frames go to the model as one
        append: they were all waiting already, so joining them costs no time and saves sends."""
        by_call: dict[str, list[AudioFrame]] = {}
        for frame in frames:
            by_call.setdefault(frame.call_sid, []).append(frame)
        for sid, own in by_call.items():
            live = self.deps.live.get(sid)
            if live is None:
                continue
            run: list[AudioFrame] = []
            for frame in own:
                if frame.kind == "a":
                    run.append(frame)
                    continue
                if run:
                    await live.append(run)
                    run = []
                live.mark_played(frame.payload)
            if run:
                await live.append(run)

    # ------------------------------------------------------------------ commands topic
    async def handle(self, command: CallCommand) -> None:
        if isinstance(command, PlaceCall):
            await self._place(command)
            return
        state = self.deps.state(command.aggregate_id)
        if command.id in state.commands:  # a redelivery: already applied
            await tell_applied(self.deps.redis, self.deps.settings, command.id, command.aggregate_id)
            return
        match command:
            case RegisterOutboundCall() | AcceptInboundCall():
                await self._start(state, command)
            case UpdateCallStatus():
                await self._status(state, command)
            case StartMedia():
                await self._media_started(state, command)
            case StopMedia():
                await self._media_stopped(state, command)
            case RecordError():
                if state.exists:
                    error = ErrorOccurred(
                        error_type=command.error_type, message=command.message, code=command.code
                    )
                    await self.deps.emit(command.aggregate_id, [error], command.id)
            case ReceiveDigit():
                if state.live:
                    await self.deps.emit(
                        command.aggregate_id, [DtmfReceived(digit=command.digit)], command.id
                    )
            case _:
                await self._supervise(state, command)

    async def _place(self, command: PlaceCall) -> None:
        # Twilio has no idempotency key: remember which call this request placed, so a redelivered
        # PlaceCall registers the same call instead of dialing twice.
        remembered = self.deps.settings.channel(f"placed:{command.id}")
        sid = await self.deps.redis.get(remembered)
        if sid is None:
            try:
                call = await self.deps.telephony.place(
                    to=command.to,
                    from_=command.from_,
                    answer_query={"scenario": command.scenario or ""},
                )
            except TwilioRestException as exc:
                refusal = Refusal(
                    "BAD_REQUEST",
                    400,
                    f"Twilio refused the call: {exc.msg}",
                    twilio_code=exc.code,
                    field="to_number",
                    value=command.to,
                )
                await publish_outcome(self.deps.redis, self.deps.settings, rejected(command, refusal))
                return
            sid = call.sid
            await self.deps.redis.set(remembered, sid, ex=86_400)
        sid = sid.decode() if isinstance(sid, bytes) else str(sid)
        register = RegisterOutboundCall.model_validate(
            {**command.model_dump(exclude={"type", "aggregate_id"}), "aggregate_id": sid}
        )
        await self.deps.broker.publish(
            register.model_dump_json().encode(), Topics.of(self.deps.settings).commands, key=sid.encode()
        )

    async def _start(self, state: CallState, command: RegisterOutboundCall | AcceptInboundCall) -> None:
        if state.exists:
            await tell_applied(self.deps.redis, self.deps.settings, command.id, command.aggregate_id)
            return
        sid = command.aggregate_id
        inbound = isinstance(command, AcceptInboundCall)
        started = CallStarted(
            callSid=sid,
            **{"from": command.from_},
            to=command.to,
            timestamp=datetime.now(UTC).isoformat(),
            direction="inbound" if inbound else "outbound",
            agent_id=command.agent_id,
            scenario=getattr(command, "scenario", None),
            metadata=getattr(command, "metadata", {}),
            agent=command.agent,
        )
        payloads: list[EventData] = [started]
        if command.agent_id is None:
            payloads += [
                ErrorOccurred(
                    error_type="routing", message=f"no active agent answers {command.to}", code="NO_AGENT"
                ),
                CallEnded(callSid=sid, duration=0.0, reason="no_agent"),
            ]
        await self.deps.writer.emit(
            state, payloads, aggregate_id=sid, tenant_id=command.tenant_id, command_id=command.id
        )

    async def _status(self, state: CallState, command: UpdateCallStatus) -> None:
        if not state.exists or state.ended:
            return
        sid = command.aggregate_id
        if command.status == "ringing" and state.status == "queued":
            await self.deps.emit(sid, [CallRinging()], command.id)
        elif command.status in ("in-progress", "answered") and state.answered_at is None:
            await self.deps.emit(sid, [CallAnswered()], command.id)
        elif command.status in TERMINAL:
            reason = TERMINAL[command.status]
            if reason == "completed":
                reason = "caller_hangup"
            ended = CallEnded(callSid=sid, duration=_duration(state, command), reason=reason)
            await self.deps.emit(sid, [ended], command.id)
            await self.actions.close_session(sid)

    async def _media_started(self, state: CallState, command: StartMedia) -> None:
        sid = command.aggregate_id
        if not state.exists or state.ended:
            # Nobody will answer this stream: the edge holding it closes it (1008) with the reason.
            reason = "call has ended" if state.exists else "unknown call"
            channel = audio_channel(self.deps.settings, sid)
            await self.deps.redis.publish(channel, json.dumps({"k": "close", "r": reason}))
            return
        live = self.deps.live.get(sid)
        if live is not None and live.expect_stream_restart:
            live.expect_stream_restart = False  # the same call, a new stream after sending DTMF
            await self.deps.emit(sid, [MediaStarted(stream_sid=command.stream_sid)], command.id)
            return
        # Twilio opens a stream only on an answered call, but its "in-progress" status callback is
        # sent on its own and may arrive later: the stream is the proof, so the answer comes first.
        answered: list[EventData] = [CallAnswered()] if state.answered_at is None else []
        await self.deps.emit(sid, [*answered, MediaStarted(stream_sid=command.stream_sid)], command.id)
        if state.agent is None:
            await self.actions.model_lost(sid, "the call has no agent settings")
            return
        live = LiveCall(self.deps, self.actions, sid)
        self.deps.live[sid] = live
        # Opened beside the consumer, not in it: a connect to the model must not hold up the audio
        # of every other call on this worker. Frames that arrive before it is open are dropped.
        task = asyncio.create_task(self._open(live), name=f"open-{sid}")
        self._opening.add(task)
        task.add_done_callback(self._opening.discard)

    async def _open(self, live: LiveCall) -> None:
        try:
            await live.open()
        except Exception as exc:
            log.warning("call %s: model session failed to open: %s", live.sid, exc)
            await self.actions.model_lost(live.sid, f"model session failed to open: {exc}")

    async def _media_stopped(self, state: CallState, command: StopMedia) -> None:
        live = self.deps.live.get(command.aggregate_id)
        if state.ended or state.stream_sid != command.stream_sid:
            return  # ended already, or a stream that was replaced
        if live is not None and live.expect_stream_restart:
            return
        await self.actions.end(command.aggregate_id, "caller_hangup", hang_up=False, command_id=command.id)

    async def _supervise(self, state: CallState, command: CallCommand) -> None:
        sid = command.aggregate_id
        live = self.deps.live.get(sid)
        if not state.live:
            return  # ended meanwhile: the edge already answered; nothing to do
        match command:
            case SendText():
                if live is not None:
                    await live.say(command.text)  # the model first: the record can follow
                await self.deps.emit(sid, [SupervisorTextSent(text=command.text)], command.id)
            case TransferCall():
                await self.actions.transfer(sid, command.target, "supervisor", command.id)
            case SendDigits():
                await self.actions.press(sid, command.digits, "supervisor", command.id)
            case EndCall():
                await self.actions.end(sid, "supervisor_ended", hang_up=True, command_id=command.id)
            case AnswerClarification():
                await self.deps.emit(sid, [ClarificationAnswered(response=command.response)], command.id)
                if live is not None:
                    call_id, live.clarification_call_id = live.clarification_call_id, None
                    await live.pause_replies(False)
                    if call_id:
                        await live.tool_output(call_id, {"answer": command.response}, respond=True)
                    else:  # asked with a [[request_user:...]] marker: there is no call to answer
                        await live.inform(f"Your supervisor answered your question: {command.response}")
            case ApproveResponse():
                if live is None or not await live.approve(command.response_id, command.text):
                    error = ErrorOccurred(
                        error_type="supervisor",
                        message=f"no response {command.response_id} is waiting for approval",
                        code="NOT_PENDING",
                    )
                    await self.deps.emit(sid, [error], command.id)


def _duration(state: CallState, command: UpdateCallStatus) -> float:
    if command.duration is not None:
        return float(command.duration)
    return duration_s(state, datetime.now(UTC))
