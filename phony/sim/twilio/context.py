"""What every call controller shares with the sim: credentials, clients, timings, the task spawner."""

from __future__ import annotations

from dataclasses import dataclass

from phony.sim.twilio.stream import MediaObserver
from phony.sim.twilio.webhooks import Spawn, WebhookClient

__all__ = ["SimContext", "SimTimings"]


@dataclass(frozen=True)
class SimTimings:
    """How long things take in the simulated world: short, so whole calls run in seconds."""

    ring_ms: int = 200  # ringing before the callee answers (busy/failed answer in half of it)
    no_answer_ring_ms: int = 1000  # ringing before NO_ANSWER_NUMBER gives up (capped by ``Timeout``)
    dial_talk_ms: int = 500  # how long a <Dial>ed party talks before hanging up
    dtmf_digit_ms: int = 100  # one tone of <Play digits> / SendDigits
    dtmf_wait_ms: int = 500  # a "w" in <Play digits> (Twilio: half a second)
    play_url_ms: int = 1000  # an audio file of <Play>url</Play>
    dtmf_gap_s: float = 0.1  # between the party's key presses on a stream
    reply_timeout_s: float = 20.0  # the party hangs up if no reply starts within this
    reprompt_after_s: float = 6.0  # total silence after the party's line before it says it again
    linger_s: float = 30.0  # silence the party keeps after its script before hanging up


@dataclass(frozen=True)
class SimContext:
    """Shared, read-only dependencies of the call controllers."""

    account_sid: str
    auth_token: str
    webhooks: WebhookClient
    spawn: Spawn
    timings: SimTimings
    observer: MediaObserver | None = None
