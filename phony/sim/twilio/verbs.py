"""What the self-contained TwiML verbs do to a call, and where a call's TwiML comes from.

The verbs here need only the call record and the timings; the ones that change the call's course
(``<Connect>``, ``<Hangup>``, ``<Reject>``, ``<Redirect>``) live in the controller.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from phony.sim.twilio.context import SimTimings
from phony.sim.twilio.numbers import outcome_for
from phony.sim.twilio.records import SimCall, StreamRecord
from phony.sim.twilio.resources import new_sid
from phony.sim.twilio.signature import compute_signature
from phony.sim.twilio.twiml import Dial, StreamSpec

__all__ = ["Fetch", "Inline", "TwimlSource", "dial", "hold_for", "new_stream_record", "play_digits"]


@dataclass(frozen=True)
class Inline:
    """TwiML given in the request (``Twiml=``)."""

    twiml: str


@dataclass(frozen=True)
class Fetch:
    """TwiML to fetch from the app (``Url=``, ``<Redirect>``, an ``action`` URL)."""

    url: str
    method: str = "POST"
    extra: dict[str, str] = field(default_factory=dict)


TwimlSource = Inline | Fetch


async def hold_for(seconds: float, loop: int) -> None:
    """Take the time of ``loop`` plays of something ``seconds`` long (``loop="0"``: until hung up)."""
    if loop <= 0:
        await asyncio.Event().wait()
    await asyncio.sleep(seconds * loop)


async def play_digits(call: SimCall, timings: SimTimings, digits: str) -> None:
    """Send DTMF into the call at tone pace; ``w`` waits half a second, ``W`` a second."""
    for char in digits:
        if char in "wW":
            await asyncio.sleep(timings.dtmf_wait_ms * (2 if char == "W" else 1) / 1000)
        else:
            await asyncio.sleep(timings.dtmf_digit_ms / 1000)
            call.digits_played += char


async def dial(call: SimCall, timings: SimTimings, verb: Dial) -> TwimlSource | None:
    """Bridge to ``verb.number`` until that party hangs up; return the ``action`` to fetch, if any."""
    call.dialed = verb.number
    started = time.monotonic()
    outcome = outcome_for(verb.number)
    dial_status = "completed" if outcome == "answer" else outcome
    await asyncio.sleep((timings.dial_talk_ms if dial_status == "completed" else timings.ring_ms) / 1000)
    if verb.action is None:
        return None  # Twilio goes on with the verb after <Dial>
    duration = round(time.monotonic() - started) if dial_status == "completed" else 0
    return Fetch(
        verb.action,
        verb.method,
        {"DialCallStatus": dial_status, "DialCallSid": new_sid("CA"), "DialCallDuration": str(duration)},
    )


def new_stream_record(spec: StreamSpec, scenario: str, auth_token: str) -> StreamRecord:
    """The record of a stream about to open, with the signature its handshake will carry."""
    url = spec.url.split("?", 1)[0]  # Twilio drops a Stream URL's query string
    return StreamRecord(
        stream_sid=new_sid("MZ"),
        url=url,
        custom_parameters=dict(spec.parameters),
        scenario=scenario,
        handshake_signature=compute_signature(auth_token, url, {}),
    )
