"""What can be done to a live call, by the AI (tool or marker) or by a supervisor: end, transfer,
press digits, ask the supervisor. Each action is a Twilio request plus the events that record it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from phony.events.calls import (
    CallEnded,
    CallTransferred,
    ClarificationRequested,
    CommandExecuted,
    DtmfSent,
    EndReason,
    ErrorOccurred,
)
from phony.workers.calls.context import CallDeps
from phony.workers.calls.llm_commands import LlmCommand, allowed_transfer, valid_digits
from phony.workers.calls.response import Response
from phony.workers.calls.session import LiveCall
from phony.workers.calls.state import duration_s
from phony.workers.calls.telephony import TelephonyError

log = logging.getLogger(__name__)

MAX_SPOKEN_REFUSALS = 2


def stream_parameters(deps: CallDeps, call_sid: str) -> dict[str, str]:
    """The ``<Parameter>``s of a call's media stream (also used when the stream is reconnected)."""
    state = deps.state(call_sid)
    params = {"tenant_id": state.tenant_id, "agent_id": state.agent_id or "", "direction": state.direction}
    if state.scenario:
        params["scenario"] = state.scenario
    return params


class CallActions:
    def __init__(self, deps: CallDeps) -> None:
        self.deps = deps

    async def end(
        self, call_sid: str, reason: EndReason, *, hang_up: bool, command_id: str | None = None
    ) -> None:
        """End the call once: hang up if asked, record ``call.ended``, close the model session."""
        state = self.deps.state(call_sid)
        if state.ended or not state.exists:
            return
        if hang_up:
            try:
                await self.deps.telephony.hang_up(call_sid)
            except Exception as exc:  # the call may be gone already; it ends either way
                log.info("hang-up of %s failed: %s", call_sid, exc)
        ended = CallEnded(callSid=call_sid, duration=duration_s(state, datetime.now(UTC)), reason=reason)
        await self.deps.emit(call_sid, [ended], command_id)
        await self.close_session(call_sid)

    async def close_session(self, call_sid: str) -> None:
        live = self.deps.live.pop(call_sid, None)
        if live is not None:
            await live.close()

    async def transfer(self, call_sid: str, target: str, by: str, command_id: str | None = None) -> None:
        state = self.deps.state(call_sid)
        if state.ended:
            return
        try:
            await self.deps.telephony.transfer(call_sid, target)
        except TelephonyError as exc:
            message = f"Twilio refused the transfer to {target}: {exc}"
            await self._refused_by_twilio(call_sid, message, command_id)
            return
        ended = CallEnded(
            callSid=call_sid, duration=duration_s(state, datetime.now(UTC)), reason="transferred"
        )
        await self.deps.emit(call_sid, [CallTransferred(target=target, by=by), ended], command_id)
        await self.close_session(call_sid)

    async def press(self, call_sid: str, digits: str, by: str, command_id: str | None = None) -> None:
        live = self.deps.live.get(call_sid)
        if live is not None:
            live.expect_stream_restart = True  # the new TwiML ends this stream and opens another
        try:
            await self.deps.telephony.play_digits(call_sid, digits, stream_parameters(self.deps, call_sid))
        except TelephonyError as exc:
            if live is not None:
                live.expect_stream_restart = False
            message = f"Twilio refused the digits {digits}: {exc}"
            await self._refused_by_twilio(call_sid, message, command_id)
            return
        await self.deps.emit(call_sid, [DtmfSent(digits=digits, by=by)], command_id)

    async def _refused_by_twilio(self, call_sid: str, message: str, command_id: str | None) -> None:
        """A transfer or digits Twilio did not take: recorded, and the call goes on as it was."""
        error = ErrorOccurred(error_type="telephony", message=message, code="TELEPHONY_ERROR")
        await self.deps.emit(call_sid, [error], command_id)

    async def model_lost(self, call_sid: str, message: str) -> None:
        """The model errored or dropped mid-call: record it and end the call cleanly (a call that has
        ended already has nothing left to record)."""
        if self.deps.state(call_sid).ended:
            return
        await self.deps.emit(
            call_sid, [ErrorOccurred(error_type="model", message=message, code="MODEL_UNAVAILABLE")]
        )
        await self.end(call_sid, "model_error", hang_up=True)

    async def _refuse(
        self, live: LiveCall, executed: CommandExecuted, call_id: str | None, reason: str
    ) -> None:
        """Record a refused command and tell the model why. It may answer the caller about it, but a
        model that keeps asking gets the refusal without a new turn (no loop of refusals)."""
        await self.deps.emit(live.sid, [executed.model_copy(update={"accepted": False, "reason": reason})])
        live.refusals += 1
        await live.tool_output(
            call_id, {"ok": False, "error": reason}, respond=live.refusals <= MAX_SPOKEN_REFUSALS
        )

    async def llm_command(
        self, live: LiveCall, command: LlmCommand, source: str, call_id: str | None, response: Response
    ) -> None:
        """Carry out a command the model gave (after the caller has heard what it said with it)."""
        sid = live.sid
        agent = live.state.agent
        executed = CommandExecuted(command=command.name, argument=command.argument, source=source)
        match command.name:
            case "end_call":
                await self.deps.emit(sid, [executed])
                await live.wait_heard(response)
                await self.end(sid, "ai_ended", hang_up=True)
            case "transfer":
                allowlist = agent.transfer_allowlist if agent else []
                if not allowed_transfer(command.argument, allowlist):
                    await self._refuse(
                        live, executed, call_id, "target not in the agent's transfer allowlist"
                    )
                    return
                await self.deps.emit(sid, [executed])
                await live.tool_output(call_id, {"ok": True}, respond=False)
                await live.wait_heard(response)
                assert command.argument is not None
                await self.transfer(sid, command.argument, "ai")
            case "press":
                if not valid_digits(command.argument):
                    await self._refuse(live, executed, call_id, "digits must be 0-9, *, # or w")
                    return
                await self.deps.emit(sid, [executed])
                await live.tool_output(call_id, {"ok": True}, respond=False)
                await live.wait_heard(response)
                assert command.argument is not None
                await self.press(sid, command.argument, "ai")
            case "request_user":
                live.clarification_call_id = call_id
                question = command.argument or ""
                await self.deps.emit(
                    sid, [executed, ClarificationRequested(question=question, call_id=call_id)]
                )
                await live.pause_replies(True)  # until the supervisor answers
