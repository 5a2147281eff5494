"""The simulator's knobs and what it reports to an observer (a benchmark's clock)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

ObservationKind = Literal[
    "input_audio_buffer.append", "conversation.item.create", "response.create", "response.output_audio.delta"
]


@dataclass(frozen=True, slots=True)
class RealtimeObservation:
    """One moment a benchmark wants timed.

    ``kind`` is the event: an append received (``payload`` = the decoded audio), a
    ``conversation.item.create`` received (``detail`` = its text or function output), a
    ``response.create`` received (``detail`` = the response's instructions, if any), or an audio delta
    sent (``payload`` = the audio). ``at_monotonic`` is ``time.monotonic()`` when it happened.
    """

    session_id: str
    kind: ObservationKind
    at_monotonic: float
    payload: bytes | None = None
    detail: str | None = None


Observer = Callable[[RealtimeObservation], None]
ScenarioLookup = Callable[[dict[str, str]], str | None]


@dataclass(frozen=True)
class SimOptions:
    """How the fake model paces itself.

    ``response_delay_ms``: from ``response.created`` to the first output (the model's "thinking").
    ``audio_chunk_ms``: audio per ``response.output_audio.delta``. ``stream_speed``: how many times
    faster than real time deltas are sent, as the real API generates audio ahead of playback.
    """

    response_delay_ms: int = 150
    audio_chunk_ms: int = 100
    stream_speed: float = 4.0
    observer: Observer | None = None
    # Which script a call follows when its instructions name none: the simulated world knows what
    # its callers will say (e.g. ``TwilioSim.scenario_of_caller``, looked up by the ``from`` number).
    scenario_lookup: ScenarioLookup | None = None
