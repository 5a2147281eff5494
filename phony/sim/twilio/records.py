"""What the fake Twilio remembers about each call: plain dataclasses that tests and benchmarks inspect.

Records are written by the sim as things happen and never read back by it to make decisions (the call
controller keeps its own state), so a test may look at them at any time.
"""

from __future__ import annotations

import asyncio
import bisect
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "CallError",
    "CallbackDelivery",
    "SimCall",
    "StatusChange",
    "StreamError",
    "StreamRecord",
]


@dataclass(frozen=True)
class StatusChange:
    """The call's ``status`` became ``status`` at wall time ``at`` (``monotonic``: ``time.monotonic()``)."""

    status: str
    at: datetime
    monotonic: float


@dataclass(frozen=True)
class CallbackDelivery:
    """One status callback request: what was sent and how the receiver answered (or why it failed)."""

    event: str  # initiated | ringing | answered | completed
    url: str
    method: str
    params: dict[str, str]
    status_code: int | None
    error: str | None = None


@dataclass(frozen=True)
class CallError:
    """An error Twilio would log in the console's debugger (e.g. 11200 for a failed TwiML fetch)."""

    code: int
    message: str


@dataclass(frozen=True)
class StreamError:
    """A message from the app that Twilio would reject and log (bad JSON, unknown event, ...)."""

    code: int
    message: str
    raw: str


@dataclass(eq=False)
class StreamRecord:
    """One ``<Connect><Stream>`` media WebSocket, from the handshake to its end."""

    stream_sid: str
    url: str
    custom_parameters: dict[str, str]
    scenario: str
    handshake_signature: str
    frames_sent: int = 0  # media messages sent to the app (the party's audio)
    frames_received: int = 0  # media messages received from the app
    audio_received: bytearray = field(default_factory=bytearray, repr=False)
    # time.monotonic() at the arrival of each media message from the app (the AI's audio), in order.
    received_at: list[float] = field(default_factory=list, repr=False)
    bytes_played: int = 0  # of the received audio, how much was played before the stream ended
    marks_received: list[str] = field(default_factory=list)
    marks_echoed: list[str] = field(default_factory=list)
    clears_received: int = 0
    dtmf_sent: str = ""
    lines_spoken: list[str] = field(default_factory=list)
    errors: list[StreamError] = field(default_factory=list)
    end_reason: str | None = None  # stopped | app-closed | party-hangup | connect-failed


@dataclass(eq=False)
class SimCall:
    """A call as the fake Twilio knows it: its REST resource fields and everything that happened on it."""

    sid: str
    account_sid: str
    to: str
    from_: str
    direction: str  # outbound-api | inbound
    date_created: datetime
    url: str | None = None
    method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: frozenset[str] = frozenset({"completed"})
    timeout_s: int = 60
    send_digits: str | None = None
    scenario_override: str | None = None  # the party's script, when not taken from the stream
    status: str = "queued"
    date_updated: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    answered_monotonic: float | None = None
    status_history: list[StatusChange] = field(default_factory=list)
    twiml: list[str] = field(default_factory=list)  # every TwiML document received, in order
    callbacks: list[CallbackDelivery] = field(default_factory=list)
    streams: list[StreamRecord] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # texts of <Say> verbs
    digits_played: str = ""  # DTMF sent into the call by <Play digits> / SendDigits, pauses removed
    dialed: str | None = None  # target of a <Dial>, once the call was bridged
    end_reason: str | None = None
    errors: list[CallError] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _reached: dict[str, asyncio.Event] = field(default_factory=dict, repr=False)

    def status_reached(self, status: str) -> asyncio.Event:
        """An event set once the call has had ``status`` (for waiting on a status without polling)."""
        return self._reached.setdefault(status, asyncio.Event())

    @property
    def statuses(self) -> list[str]:
        """The status values the call went through, in order."""
        return [change.status for change in self.status_history]

    @property
    def stream(self) -> StreamRecord | None:
        """The latest media stream, if one was opened."""
        return self.streams[-1] if self.streams else None

    @property
    def frames_sent(self) -> int:
        """Media messages sent to the app over all of the call's streams."""
        return sum(s.frames_sent for s in self.streams)

    @property
    def frames_received(self) -> int:
        """Media messages received from the app over all of the call's streams."""
        return sum(s.frames_received for s in self.streams)

    @property
    def audio_received(self) -> bytes:
        """All μ-law audio the app sent, over all streams."""
        return b"".join(bytes(s.audio_received) for s in self.streams)

    def first_ai_audio_after(self, at_monotonic: float) -> float | None:
        """When the first media message from the app arrived after ``at_monotonic`` (a fault, say), on
        any of the call's streams, as ``time.monotonic()``; None if none has (yet).

        The app sends only the AI's audio (no filler), so this is when the caller hears the AI again;
        playback starts on the stream's next 20 ms tick unless earlier audio is still queued.
        """
        found = [
            s.received_at[i]
            for s in self.streams
            if (i := bisect.bisect_right(s.received_at, at_monotonic)) < len(s.received_at)
        ]
        return min(found, default=None)

    @property
    def marks_echoed(self) -> list[str]:
        """Names of the marks echoed back to the app, in order."""
        return [name for s in self.streams for name in s.marks_echoed]

    @property
    def clears_received(self) -> int:
        """How many ``clear`` messages the app sent."""
        return sum(s.clears_received for s in self.streams)

    @property
    def lines_spoken(self) -> list[str]:
        """The party's script lines spoken into the call, in order."""
        return [line for s in self.streams for line in s.lines_spoken]
