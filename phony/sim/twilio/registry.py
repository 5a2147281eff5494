"""The sim's calls: the records tests inspect and the controllers that drive them, by call SID."""

from __future__ import annotations

import time
from dataclasses import dataclass

from phony.sim.twilio.context import SimContext
from phony.sim.twilio.controller import CallController
from phony.sim.twilio.records import SimCall, StatusChange
from phony.sim.twilio.resources import new_sid, now_utc
from phony.sim.twilio.verbs import TwimlSource

__all__ = ["CallRegistry", "OutboundRequest"]


@dataclass(frozen=True)
class OutboundRequest:
    """The parameters of ``POST Calls.json`` the sim acts on."""

    to: str
    from_: str
    source: TwimlSource
    url: str | None = None
    method: str = "POST"
    status_callback: str | None = None
    status_callback_events: frozenset[str] = frozenset({"completed"})
    status_callback_method: str = "POST"
    timeout_s: int = 60
    send_digits: str | None = None


class CallRegistry:
    """Creates calls and finds them again."""

    def __init__(self, ctx: SimContext) -> None:
        """Calls of the account in ``ctx``."""
        self.ctx = ctx
        self.calls: dict[str, SimCall] = {}
        self.controllers: dict[str, CallController] = {}
        # Per call: its next this many updates fail as in an outage (503, Twilio error 20500).
        self.failing_updates: dict[str, int] = {}

    def _new_call(self, to: str, from_: str, direction: str, status: str) -> SimCall:
        created = now_utc()
        call = SimCall(
            sid=new_sid("CA"),
            account_sid=self.ctx.account_sid,
            to=to,
            from_=from_,
            direction=direction,
            date_created=created,
            status=status,
            date_updated=created,
        )
        call.status_history.append(StatusChange(status, created, time.monotonic()))
        call.status_reached(status).set()
        self.calls[call.sid] = call
        self.controllers[call.sid] = CallController(call, self.ctx)
        return call

    def create_outbound(self, request: OutboundRequest) -> SimCall:
        """Queue an outbound call and start dialling it in the background."""
        call = self._new_call(request.to, request.from_, "outbound-api", "queued")
        call.url = request.url
        call.method = request.method
        call.status_callback = request.status_callback
        call.status_callback_events = request.status_callback_events
        call.status_callback_method = request.status_callback_method
        call.timeout_s = request.timeout_s
        call.send_digits = request.send_digits
        self.controllers[call.sid].start_outbound(request.source)
        return call

    def create_inbound(
        self,
        from_: str,
        to: str,
        url: str,
        scenario: str | None = None,
        status_callback: str | None = None,
        status_callback_events: frozenset[str] = frozenset({"completed"}),
    ) -> SimCall:
        """A call ringing the app's number: fetch TwiML from ``url`` in the background and follow it."""
        call = self._new_call(to, from_, "inbound", "ringing")
        call.url = url
        call.start_time = call.date_created
        call.scenario_override = scenario
        call.status_callback = status_callback
        call.status_callback_events = status_callback_events
        self.controllers[call.sid].start_inbound(url)
        return call

    def live(self) -> list[CallController]:
        """Controllers of the calls that have not ended."""
        return [c for c in self.controllers.values() if not c.over]
