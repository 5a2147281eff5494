"""A call's life: ringing, answer, following TwiML (and updates to it), hang-up and status callbacks.

One :class:`CallController` per call. At most one *execution* runs at a time: the task that follows
the call's current TwiML. A REST update bumps the generation, ends the media stream (``stop``) and
cancels that task before the new TwiML starts, as Twilio abandons a document the moment it is
replaced.
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

import httpx

from phony.sim.scenarios import scenario_named, speech_ms
from phony.sim.twilio.context import SimContext
from phony.sim.twilio.numbers import outcome_for
from phony.sim.twilio.party import Party
from phony.sim.twilio.records import CallError, SimCall, StatusChange
from phony.sim.twilio.resources import now_utc
from phony.sim.twilio.stream import MediaStreamSession
from phony.sim.twilio.twiml import (
    Connect,
    Dial,
    Hangup,
    Pause,
    Play,
    Redirect,
    Reject,
    Say,
    TwimlError,
    Unsupported,
    parse_twiml,
)
from phony.sim.twilio.verbs import Fetch, Inline, TwimlSource, dial, hold_for, new_stream_record, play_digits
from phony.sim.twilio.webhooks import StatusCallbacks, call_params

__all__ = ["FINAL_STATUSES", "CallController"]

FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
ERROR_HTTP_RETRIEVAL = 11200
ERROR_DOCUMENT_PARSE = 12100
ERROR_SCHEMA_WARNING = 12200


class CallController:
    """Drives one :class:`SimCall` through its lifecycle."""

    def __init__(self, call: SimCall, ctx: SimContext) -> None:
        """Control ``call`` with the sim's shared ``ctx``."""
        self.call = call
        self.ctx = ctx
        self.callbacks = StatusCallbacks(call, ctx.webhooks, ctx.spawn)
        self.party: Party | None = None
        self.session: MediaStreamSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._generation = 0
        self._ending = False
        self._redirect_lock = asyncio.Lock()

    @property
    def over(self) -> bool:
        """True once the call has ended (or is ending)."""
        return self._ending or self.call.status in FINAL_STATUSES

    @property
    def answered(self) -> bool:
        """True once the call has been answered."""
        return self.call.answered_monotonic is not None

    # -- entry points ----------------------------------------------------------------------

    def start_outbound(self, source: TwimlSource) -> None:
        """Dial the ``To`` number in the background; on answer, follow ``source``."""
        self._task = self.ctx.spawn(self._outbound(source, self._generation))

    def start_inbound(self, url: str, method: str = "POST") -> None:
        """Ring the app: fetch TwiML from ``url`` and follow it."""
        self._task = self.ctx.spawn(self._execute(Fetch(url, method), self._generation))

    def redirect(self, source: TwimlSource) -> None:
        """Replace the call's TwiML (REST update): end the current stream, then follow ``source``."""
        self._generation += 1
        self.ctx.spawn(self._redirect(source, self._generation))

    def hang_up(self, requested: Literal["completed", "canceled"]) -> None:
        """REST ``Status=``: ``canceled`` ends a queued/ringing call; ``completed`` ends any call."""
        if self.over:
            return
        if not self.answered:
            self.end("canceled", "api-canceled")
        elif requested == "completed":
            self.end("completed", "api-hangup")

    def end(self, status: str, reason: str) -> None:
        """End the call now with final ``status``; idempotent. Teardown continues in the background."""
        if self._ending:
            return
        self._ending = True
        self._generation += 1
        call = self.call
        now = now_utc()
        if call.answered_monotonic is not None:
            call.duration = round(time.monotonic() - call.answered_monotonic)  # whole seconds
            call.end_time = now
        call.end_reason = call.end_reason or reason
        self._set_status(status)
        self.callbacks.emit("completed", status)
        self.ctx.spawn(self._teardown())

    async def press_digits(self, digits: str) -> None:
        """The party presses keys on the open media stream (``dtmf`` messages to the app)."""
        if self.session is None:
            raise RuntimeError(f"call {self.call.sid} has no media stream open")
        await self.session.press(digits)

    # -- lifecycle ---------------------------------------------------------------------------

    def _set_status(self, status: str) -> None:
        now = now_utc()
        self.call.status = status
        self.call.date_updated = now
        self.call.status_history.append(StatusChange(status, now, time.monotonic()))
        self.call.status_reached(status).set()

    def _answer(self) -> None:
        self.call.answered_monotonic = time.monotonic()
        self._set_status("in-progress")
        self.callbacks.emit("answered", "in-progress")

    async def _outbound(self, source: TwimlSource, generation: int) -> None:
        call, timings = self.call, self.ctx.timings
        call.start_time = now_utc()
        self.callbacks.emit("initiated", "initiated")
        outcome = outcome_for(call.to)
        if outcome in ("busy", "failed"):
            await asyncio.sleep(timings.ring_ms / 2000)
            self.end(outcome, outcome)
            return
        self._set_status("ringing")
        self.callbacks.emit("ringing", "ringing")
        if outcome == "no-answer":
            await asyncio.sleep(min(call.timeout_s * 1000, timings.no_answer_ring_ms) / 1000)
            self.end("no-answer", "no-answer")
            return
        await asyncio.sleep(timings.ring_ms / 1000)
        self._answer()
        if call.send_digits:
            await play_digits(call, timings, call.send_digits)
        await self._execute(source, generation)

    async def _redirect(self, source: TwimlSource, generation: int) -> None:
        async with self._redirect_lock:
            await self._stop_execution()
            if generation == self._generation and not self.over:
                self._task = self.ctx.spawn(self._execute(source, generation))

    async def _stop_execution(self) -> None:
        session, task = self.session, self._task
        if session is not None:
            await session.stop()
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
            await asyncio.wait([task])

    async def _teardown(self) -> None:
        await self._stop_execution()
        await self.callbacks.drain()
        self.call.ended.set()

    # -- TwiML -------------------------------------------------------------------------------

    async def _execute(self, source: TwimlSource | None, generation: int) -> None:
        """Follow TwiML documents (one leading to the next) until they run out, then hang up."""
        reason = "twiml-ended"
        while source is not None:
            document = await self._load(source)
            if document is None or generation != self._generation:
                return
            source, reason = await self._run_document(document, generation)
            if generation != self._generation:
                return
        self.end("completed", reason)

    async def _load(self, source: TwimlSource) -> str | None:
        if isinstance(source, Inline):
            return source.twiml
        params = call_params(self.call, self.call.status) | source.extra
        try:
            response = await self.ctx.webhooks.request(source.url, params, source.method)
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if response.is_success:
                return response.text
            problem = f"HTTP {response.status_code}"
        # Twilio says "an application error has occurred" and hangs up.
        self.call.errors.append(CallError(ERROR_HTTP_RETRIEVAL, f"{source.method} {source.url}: {problem}"))
        self.end("completed" if self.answered else "failed", "application-error")
        return None

    async def _run_document(self, document: str, generation: int) -> tuple[TwimlSource | None, str]:
        """Run one document; return where TwiML continues (Redirect, action URL) and the end reason."""
        self.call.twiml.append(document)
        try:
            verbs = parse_twiml(document)
        except TwimlError as exc:
            self.call.errors.append(CallError(ERROR_DOCUMENT_PARSE, str(exc)))
            self.end("completed" if self.answered else "failed", "application-error")
            return None, "application-error"
        reason = "twiml-ended"
        for verb in verbs:
            if generation != self._generation:
                break
            if isinstance(verb, Reject):
                status = "completed" if self.answered else ("busy" if verb.reason == "busy" else "no-answer")
                self.end(status, "rejected")
                break
            if not self.answered:
                self._answer()  # any verb but <Reject> answers an inbound call
            match verb:
                case Connect():
                    next_source = await self._connect(verb)
                    if next_source is not None or self.over:
                        return next_source, "stream-ended"
                    reason = "stream-ended"
                case Say(text=text, loop=loop):
                    self.call.said.append(text)
                    await hold_for(speech_ms(text) / 1000, loop)
                    reason = "twiml-ended"
                case Play(digits=digits, loop=loop):
                    if digits:
                        await play_digits(self.call, self.ctx.timings, digits)
                    else:
                        await hold_for(self.ctx.timings.play_url_ms / 1000, loop)
                    reason = "twiml-ended"
                case Pause(length_s=length_s):
                    await asyncio.sleep(length_s)
                case Hangup():
                    self.end("completed", "hangup")
                    break
                case Dial():
                    dial_next = await dial(self.call, self.ctx.timings, verb)
                    if dial_next is not None:
                        return dial_next, "dial-ended"
                    reason = "dial-ended"
                case Redirect(url=url, method=method):
                    return Fetch(url, method), reason
                case Unsupported(tag=tag):
                    self.call.errors.append(
                        CallError(ERROR_SCHEMA_WARNING, f"<{tag}> is not simulated; skipped")
                    )
        return None, reason

    async def _connect(self, verb: Connect) -> TwimlSource | None:
        """Run the stream; return the ``action`` to fetch when it ends (None: next verb / call over)."""
        spec = verb.stream
        if spec is None:
            self.call.errors.append(
                CallError(ERROR_SCHEMA_WARNING, "<Connect> without <Stream> is not simulated")
            )
            return None
        if self.party is None:
            scenario = scenario_named(self.call.scenario_override or spec.parameters.get("scenario"))
            timings = self.ctx.timings
            self.party = Party(
                scenario, timings.reply_timeout_s, timings.linger_s, reprompt_after_s=timings.reprompt_after_s
            )
        record = new_stream_record(spec, self.party.scenario.name, self.ctx.auth_token)
        self.call.streams.append(record)
        session = MediaStreamSession(
            self.call, record, self.party, self.ctx.observer, self.ctx.timings.dtmf_gap_s
        )
        self.session = session
        try:
            end = await session.run()
        finally:
            self.session = None
        if end == "party-hangup":
            self.end("completed", "party-hung-up" if session.party_end == "script-ended" else "party-gave-up")
            return None
        if end == "stopped" or verb.action is None:
            return None
        return Fetch(verb.action, verb.method)
