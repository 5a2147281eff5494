"""One bidirectional Media Stream, as Twilio runs it: Twilio is the WebSocket client.

The session connects to the ``<Stream url>`` (signed like a webhook), sends ``connected`` and
``start``, then runs one 20 ms clock that both sends the party's next frame and plays one frame of the
app's queued audio, echoing marks as their audio finishes. A receiver task parses the app's messages
once (:data:`~phony.sim.twilio.messages.APP_MESSAGE`), and the party's script runs beside them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Literal

import websockets
from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect

from phony.sim.audio import FRAME_BYTES, FRAME_MS, SILENCE_BYTE
from phony.sim.twilio import messages as wire
from phony.sim.twilio.party import Party, PartyEnd
from phony.sim.twilio.playback import PlaybackBuffer
from phony.sim.twilio.records import CallError, SimCall, StreamError, StreamRecord
from phony.sim.twilio.signature import SIGNATURE_HEADER

__all__ = ["MEDIA_RECEIVED", "MEDIA_SENT", "MediaObserver", "MediaStreamSession", "StreamEnd"]

MEDIA_SENT = "sent"
MEDIA_RECEIVED = "received"
# (call_sid, MEDIA_SENT | MEDIA_RECEIVED, time.monotonic(), μ-law payload): one call per media frame.
MediaObserver = Callable[[str, str, float, bytes], None]
StreamEnd = Literal["stopped", "app-closed", "party-hangup", "connect-failed"]

# Twilio's error codes for media streams, as its debugger logs them.
ERROR_WS_HANDSHAKE = 31920
ERROR_INVALID_MESSAGE = 31951

_SILENCE_FRAME = bytes([SILENCE_BYTE]) * FRAME_BYTES
_SILENCE_B64 = base64.b64encode(_SILENCE_FRAME).decode()


class _Pulse:
    """Wakes waiters whenever the stream's state changes, so they can re-check their condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            await self._event.wait()


class MediaStreamSession:
    """The media WebSocket of one ``<Connect><Stream>``; :meth:`run` returns when the stream ends."""

    def __init__(
        self,
        call: SimCall,
        record: StreamRecord,
        party: Party,
        observer: MediaObserver | None = None,
        dtmf_gap_s: float = 0.1,
    ) -> None:
        """Stream ``record`` of ``call``; ``party`` speaks into it; ``observer`` sees every frame."""
        self.call = call
        self.record = record
        self.party = party
        self.observer = observer
        self.dtmf_gap_s = dtmf_gap_s
        self.playback = PlaybackBuffer()
        self._ws: ClientConnection | None = None
        self._seq = 0
        self._send_lock = asyncio.Lock()  # one writer at a time keeps sequenceNumbers in order
        self._outgoing = bytearray()  # the party's speech not yet sent
        self._speech_sent = asyncio.Event()
        self._pulse = _Pulse()
        self._end: StreamEnd | None = None
        self._ended = asyncio.Event()
        self._closed = asyncio.Event()
        self.party_end: PartyEnd | None = None  # why the party hung up, if it did
        self._crash: BaseException | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self) -> StreamEnd:
        """Connect, stream until the app, the party or :meth:`stop` ends it, then close."""
        try:
            try:
                await self._open()
            except (OSError, TimeoutError, websockets.InvalidHandshake, websockets.InvalidURI) as exc:
                message = f"WebSocket handshake with {self.record.url} failed: {type(exc).__name__}: {exc}"
                self.record.errors.append(StreamError(ERROR_WS_HANDSHAKE, message, ""))
                self.call.errors.append(CallError(ERROR_WS_HANDSHAKE, message))
                self._end = None  # a stop() that raced the handshake does not hide the failure
                self._finish("connect-failed")
                return "connect-failed"
            tasks = [
                asyncio.create_task(self._clock(), name="twilio-sim-clock"),
                asyncio.create_task(self._receive(), name="twilio-sim-receive"),
                asyncio.create_task(self._converse(), name="twilio-sim-party"),
            ]
            for task in tasks:
                task.add_done_callback(self._task_done)
            try:
                await self._ended.wait()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await self._close()
            if self._crash is not None:
                raise self._crash  # a sim bug (or a failing observer): surface it, don't hide it
            assert self._end is not None
            return self._end
        finally:
            self._closed.set()

    async def stop(self) -> None:
        """End the stream from Twilio's side (hang-up, new TwiML): ``stop`` goes out, the socket closes."""
        self._finish("stopped")
        await self._closed.wait()

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None and self._crash is None:
            self._crash = exc
            self._finish("stopped")

    def _finish(self, reason: StreamEnd) -> None:
        if self._end is None:
            self._end = reason
            self.record.end_reason = reason
            self._ended.set()
            self._pulse.fire()

    async def _open(self) -> None:
        # Twilio signs the handshake like a webhook: over the stream URL, with no parameters.
        headers = {SIGNATURE_HEADER: self.record.handshake_signature, "User-Agent": "Twilio-MediaStreams/1.0"}
        self._ws = await connect(
            self.record.url,
            additional_headers=headers,
            open_timeout=5,
            close_timeout=2,
            max_size=None,
            compression=None,  # Twilio's media streams negotiate no permessage-deflate
        )
        await self._ws.send(wire.connected_message())
        record = self.record
        async with self._numbered() as seq:
            await self._ws.send(
                wire.start_message(
                    seq, record.stream_sid, self.call.account_sid, self.call.sid, record.custom_parameters
                )
            )

    async def _close(self) -> None:
        ws = self._ws
        if ws is not None:
            # Twilio says goodbye only when it ends the stream; if the app closed it there is no one to tell.
            if self._end in ("stopped", "party-hangup"):
                with contextlib.suppress(websockets.ConnectionClosed):
                    async with self._numbered() as seq:
                        await ws.send(
                            wire.stop_message(
                                seq, self.record.stream_sid, self.call.account_sid, self.call.sid
                            )
                        )
            await ws.close()

    @contextlib.asynccontextmanager
    async def _numbered(self) -> AsyncIterator[int]:
        # One writer at a time, so messages leave in sequenceNumber order.
        async with self._send_lock:
            self._seq += 1
            yield self._seq

    # -- the 20 ms clock ---------------------------------------------------------------------

    async def _clock(self) -> None:
        loop = asyncio.get_running_loop()
        sid, call_sid, record, observer = self.record.stream_sid, self.call.sid, self.record, self.observer
        ws, lock = self._ws, self._send_lock
        assert ws is not None
        started = loop.time()
        frame_index = 0
        try:
            while True:
                frame, payload = self._next_frame()
                async with lock:  # the hot path takes the lock directly (no context-manager generator)
                    self._seq += 1
                    await ws.send(
                        wire.media_message(self._seq, sid, frame_index + 1, frame_index * FRAME_MS, payload)
                    )
                record.frames_sent += 1
                if observer is not None:
                    observer(call_sid, MEDIA_SENT, time.monotonic(), frame)
                played, due = self.playback.tick()
                record.bytes_played += len(played)
                for name in due:
                    await self._echo_mark(name)
                if played or due:
                    self._pulse.fire()
                frame_index += 1
                # Pace against the start time, not the last frame, so jitter never accumulates.
                delay = started + frame_index * FRAME_MS / 1000 - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
        except websockets.ConnectionClosed:
            self._finish("app-closed")

    def _next_frame(self) -> tuple[bytes, str]:
        out = self._outgoing
        if not out:
            return _SILENCE_FRAME, _SILENCE_B64
        frame = bytes(out[:FRAME_BYTES]).ljust(FRAME_BYTES, bytes([SILENCE_BYTE]))
        del out[:FRAME_BYTES]
        if not out:
            self._speech_sent.set()
        return frame, base64.b64encode(frame).decode()

    async def _echo_mark(self, name: str) -> None:
        assert self._ws is not None
        async with self._numbered() as seq:
            await self._ws.send(wire.mark_message(seq, self.record.stream_sid, name))
        self.record.marks_echoed.append(name)

    # -- the app's messages ------------------------------------------------------------------

    async def _receive(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                if isinstance(raw, bytes):
                    self._reject(raw.decode(errors="replace"), "binary frame; Twilio expects JSON text")
                    continue
                await self._handle(raw)
        except websockets.ConnectionClosed:
            pass
        self._finish("app-closed")

    async def _handle(self, raw: str) -> None:
        try:
            message = wire.APP_MESSAGE.validate_json(raw)
        except ValidationError as exc:
            self._reject(raw, f"invalid message: {exc.errors()[0]['msg']}")
            return
        record = self.record
        if message.streamSid != record.stream_sid:
            self._reject(raw, f"streamSid {message.streamSid!r} is not this stream's")
            return
        match message:
            case wire.AppMedia(media=media):
                try:
                    audio = base64.b64decode(media.payload, validate=True)
                except binascii.Error:
                    self._reject(raw, "media payload is not base64")
                    return
                at = time.monotonic()
                record.frames_received += 1
                record.audio_received += audio
                record.received_at.append(at)
                if self.observer is not None:
                    self.observer(self.call.sid, MEDIA_RECEIVED, at, audio)
                self.playback.push_audio(audio)
                self._pulse.fire()
            case wire.AppMark(mark=mark):
                record.marks_received.append(mark.name)
                if self.playback.push_mark(mark.name):
                    await self._echo_mark(mark.name)
            case wire.AppClear():
                record.clears_received += 1
                for name in self.playback.clear():
                    await self._echo_mark(name)
                self._pulse.fire()

    def _reject(self, raw: str, message: str) -> None:
        self.record.errors.append(StreamError(ERROR_INVALID_MESSAGE, message, raw[:500]))

    # -- the party's side (PartyLine) ----------------------------------------------------------

    async def _converse(self) -> None:
        self.party_end = await self.party.converse(self)
        self._finish("party-hangup")

    @property
    def ai_frames(self) -> int:
        """Media messages received from the app on this stream."""
        return self.record.frames_received

    async def speak(self, text: str, audio: bytes) -> None:
        """Queue the party's line and wait until the clock has sent all of it."""
        self.record.lines_spoken.append(text)
        if not audio:
            return
        self._speech_sent = asyncio.Event()
        self._outgoing += audio
        await self._speech_sent.wait()

    async def wait_ai_audio(self, after: int, timeout_s: float) -> bool:
        """Wait for media message number ``after + 1`` from the app; False after ``timeout_s``."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._pulse.until(lambda: self.record.frames_received > after)
        except TimeoutError:
            return False
        return True

    async def wait_ai_quiet(self, quiet_s: float) -> None:
        """Wait until the app's audio has all played and ``quiet_s`` more passed with none arriving."""
        while True:
            await self._pulse.until(self.playback.is_empty)
            if not await self.wait_ai_audio(self.record.frames_received, quiet_s):
                return

    async def press(self, digits: str) -> None:
        """The party presses keys: one ``dtmf`` message per digit, ``dtmf_gap_s`` apart."""
        if self._ws is None:
            return
        for i, digit in enumerate(digits):
            if i:
                await asyncio.sleep(self.dtmf_gap_s)
            async with self._numbered() as seq:
                await self._ws.send(wire.dtmf_message(seq, self.record.stream_sid, digit))
            self.record.dtmf_sent += digit
