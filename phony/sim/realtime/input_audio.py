"""The input audio buffer: appends, server VAD, commits and clears.

With ``server_vad`` the buffer commits itself when the detector hears a turn end; without turn
detection the client commits. Either way a committed buffer becomes a user message item, and the
session is told a caller turn was committed (it transcribes it and may answer it).
"""

from __future__ import annotations

from typing import Protocol

from phony.sim.realtime.config import SessionSettings, TurnDetection
from phony.sim.realtime.events import JsonObject, user_audio_item
from phony.sim.realtime.host import SessionHost
from phony.sim.realtime.parsing import ClientError
from phony.sim.realtime.vad import EnergyVad, SpeechStarted, VadSettings

MIN_COMMIT_MS = 100  # the API refuses to commit less audio than this


class InputHost(SessionHost, Protocol):
    """What the input buffer needs from its session."""

    async def speech_started(self, turn_detection: TurnDetection) -> None:
        """The caller started speaking (a barge-in if a response is streaming)."""

    async def caller_turn_committed(self, item: JsonObject, audio_ms: int, respond: bool) -> None:
        """A user audio item was committed; ``respond`` when turn detection asks for a response."""


class InputAudio:
    """One session's input audio buffer and voice activity detector."""

    def __init__(self, host: InputHost, settings: SessionSettings) -> None:
        self._host = host
        self._settings = settings
        td = settings.turn_detection
        self._vad = EnergyVad(settings.input_codec, td.vad if td else VadSettings())
        self._total_bytes = 0  # appended in the whole session (audio_start_ms/audio_end_ms count these)
        self._buffer_bytes = 0  # appended since the last commit or clear
        self._speech_item_id: str | None = None  # announced at speech_started, used by the commit

    @property
    def position_ms(self) -> int:
        """Milliseconds of audio appended in this session."""
        return self._settings.input_codec.duration_ms(self._total_bytes)

    def reconfigure(self, settings: SessionSettings) -> None:
        """Apply a ``session.update`` (format, turn detection)."""
        self._settings = settings
        td = settings.turn_detection
        self._vad.reconfigure(settings.input_codec, td.vad if td else VadSettings())

    async def append(self, audio: bytes) -> None:
        """Add audio to the buffer and act on what the detector hears in it."""
        self._total_bytes += len(audio)
        self._buffer_bytes += len(audio)
        td = self._settings.turn_detection
        if td is None:
            self._vad.skip(audio)
            return
        for event in self._vad.feed(audio):
            if isinstance(event, SpeechStarted):
                await self._speech_started(event.audio_start_ms, td)
            else:
                await self._speech_stopped(event.audio_end_ms, td)

    async def _speech_started(self, audio_start_ms: int, td: TurnDetection) -> None:
        item_id = self._host.events.new_id("item")
        self._speech_item_id = item_id
        started = self._host.events.make(
            "input_audio_buffer.speech_started", audio_start_ms=audio_start_ms, item_id=item_id
        )
        await self._host.send(started)
        await self._host.speech_started(td)

    async def _speech_stopped(self, audio_end_ms: int, td: TurnDetection) -> None:
        item_id = self._speech_item_id or self._host.events.new_id("item")
        stopped = self._host.events.make(
            "input_audio_buffer.speech_stopped", audio_end_ms=audio_end_ms, item_id=item_id
        )
        await self._host.send(stopped)
        await self._commit(item_id, respond=td.create_response)

    async def commit(self, event_id: str | None) -> None:
        """``input_audio_buffer.commit`` from the client (never creates a response by itself)."""
        have_ms = self._settings.input_codec.duration_ms(self._buffer_bytes)
        if have_ms < MIN_COMMIT_MS:
            raise ClientError(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {float(have_ms):.2f}ms of audio.",
                "input_audio_buffer_commit_empty",
                None,
                event_id,
            )
        item_id = self._speech_item_id or self._host.events.new_id("item")
        self._vad.restart(self.position_ms)
        await self._commit(item_id, respond=False)

    async def clear(self) -> None:
        """``input_audio_buffer.clear``: drop the buffered audio and any speech in progress."""
        self._buffer_bytes = 0
        self._speech_item_id = None
        self._vad.restart(self.position_ms)
        await self._host.send(self._host.events.make("input_audio_buffer.cleared"))

    async def _commit(self, item_id: str, respond: bool) -> None:
        host = self._host
        audio_ms = self._settings.input_codec.duration_ms(self._buffer_bytes)
        self._buffer_bytes = 0
        self._speech_item_id = None
        item = user_audio_item(item_id)
        previous = host.conversation.add(item)
        await host.send(
            host.events.make("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id)
        )
        await host.send(host.events.make("conversation.item.added", previous_item_id=previous, item=item))
        await host.send(host.events.make("conversation.item.done", previous_item_id=previous, item=item))
        await host.caller_turn_committed(item, audio_ms, respond)
