"""Server-side voice activity detection from the energy of the appended audio.

The Realtime API's ``server_vad`` finds speech in the input audio buffer and reports where it
started (including ``prefix_padding_ms``) and where it stopped (after ``silence_duration_ms`` of
quiet). This detector does the same from the RMS of each 20 ms frame: pure state, no I/O, so the
session decides what each transition means.
"""

from __future__ import annotations

from dataclasses import dataclass

from phony.sim.realtime.codec import FRAME_MS, AudioCodec

# OpenAI's threshold is a 0..1 sensitivity knob; here it scales a linear RMS level. 0.5 -> 200
# (about -44 dBFS): far above μ-law silence and line hiss, far below any voiced frame of
# phony.sim.audio.speech even in the troughs of its syllable envelope.
RMS_AT_THRESHOLD_ONE = 400.0


@dataclass(frozen=True)
class VadSettings:
    """The ``server_vad`` knobs the detector honours (the API's defaults)."""

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 200


@dataclass(frozen=True)
class SpeechStarted:
    """Speech found; ``audio_start_ms`` counts from the first byte appended in the session."""

    audio_start_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    """Speech over; ``audio_end_ms`` includes the trailing silence that ended it."""

    audio_end_ms: int


VadEvent = SpeechStarted | SpeechStopped


class EnergyVad:
    """Finds speech turns in a stream of appended audio, one 20 ms frame at a time."""

    def __init__(self, codec: AudioCodec, settings: VadSettings) -> None:
        self._codec = codec
        self._settings = settings
        self._rms_threshold = max(1.0, settings.threshold * RMS_AT_THRESHOLD_ONE)
        self._pending = b""  # a partial frame, kept until the next append completes it
        self._position_ms = 0  # audio consumed since the session started (analysed or skipped)
        self._floor_ms = 0  # speech cannot be said to start before the buffer's start
        self._speaking = False
        self._quiet_ms = 0

    @property
    def speaking(self) -> bool:
        """Whether the detector is inside a speech turn."""
        return self._speaking

    def reconfigure(self, codec: AudioCodec, settings: VadSettings) -> None:
        """Apply a ``session.update``; the position in the stream is kept."""
        if codec != self._codec:
            self._pending = b""
        self._codec = codec
        self._settings = settings
        self._rms_threshold = max(1.0, settings.threshold * RMS_AT_THRESHOLD_ONE)

    def restart(self, at_ms: int) -> None:
        """Forget any speech in progress: the buffer was committed or cleared at ``at_ms``."""
        self._speaking = False
        self._quiet_ms = 0
        self._floor_ms = at_ms

    def skip(self, data: bytes) -> None:
        """Count appended audio without analysing it (turn detection is off)."""
        self._position_ms += self._codec.duration_ms(len(self._pending) + len(data))
        self._pending = b""

    def feed(self, data: bytes) -> list[VadEvent]:
        """Analyse newly appended audio; returns the transitions it contains, in order."""
        size = self._codec.frame_bytes
        buf = self._pending + data if self._pending else data
        whole = len(buf) - len(buf) % size
        self._pending = buf[whole:]
        events: list[VadEvent] = []
        for offset in range(0, whole, size):
            event = self._frame(buf[offset : offset + size])
            if event is not None:
                events.append(event)
        return events

    def _frame(self, frame: bytes) -> VadEvent | None:
        start_ms = self._position_ms
        self._position_ms += FRAME_MS
        loud = self._codec.rms(frame) >= self._rms_threshold
        if not self._speaking:
            if not loud:
                return None
            self._speaking = True
            self._quiet_ms = 0
            return SpeechStarted(max(self._floor_ms, start_ms - self._settings.prefix_padding_ms))
        if loud:
            self._quiet_ms = 0
            return None
        self._quiet_ms += FRAME_MS
        if self._quiet_ms < self._settings.silence_duration_ms:
            return None
        end_ms = start_ms + FRAME_MS
        self.restart(end_ms)
        return SpeechStopped(end_ms)
