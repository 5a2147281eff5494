"""The Twilio media WebSocket, one per call: caller frames become messages on the audio topic, and
the model's audio for the call arrives on the call's Redis channel and goes back as it came, one
media message per model delta, each followed by its mark.

Twilio's messages are parsed once here: ``media`` (50 a second per call) with plain dict access, the
rest into pydantic models.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Annotated, Any, Literal

from aiokafka.errors import KafkaError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from phony import logs
from phony.commands.audio import AudioFrame
from phony.commands.calls import ReceiveDigit, RecordError, StartMedia, StopMedia
from phony.commands.playback import (
    ClearPlayback,
    CloseStream,
    PlaybackMessage,
    PlayMark,
    PlayMedia,
    json_string,
    playback_channel,
)
from phony.commands.playback import decode as decode_playback
from phony.edge.channels import ChannelHub, EndReason, HubUnavailable
from phony.edge.context import EdgeContext

log = logging.getLogger(__name__)

RELISTEN_S = 0.5
READY_WAIT_S = 5.0


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class StartInfo(_Loose):
    callSid: str
    streamSid: str
    accountSid: str = ""
    customParameters: dict[str, str] = Field(default_factory=dict)


class Start(_Loose):
    event: Literal["start"]
    start: StartInfo


class Connected(_Loose):
    event: Literal["connected"]


class MarkInfo(_Loose):
    name: str


class Mark(_Loose):
    event: Literal["mark"]
    mark: MarkInfo


class DtmfInfo(_Loose):
    digit: str = Field(pattern=r"^[0-9*#A-D]$")


class Dtmf(_Loose):
    event: Literal["dtmf"]
    dtmf: DtmfInfo


class Stop(_Loose):
    event: Literal["stop"]


TwilioMessage = Annotated[Start | Connected | Mark | Dtmf | Stop, Field(discriminator="event")]
_MESSAGE: TypeAdapter[TwilioMessage] = TypeAdapter(TwilioMessage)


class AudioFeed:
    """One call's audio messages from the shared hub, queued for its socket (the hub never waits)."""

    def __init__(self) -> None:
        self.reason: EndReason | None = None
        self._queue: asyncio.Queue[PlaybackMessage | None] = asyncio.Queue()

    def deliver(self, message: PlaybackMessage) -> None:
        self._queue.put_nowait(message)

    def end(self, reason: EndReason) -> None:
        self.reason = reason
        self._queue.put_nowait(None)

    async def get(self) -> PlaybackMessage | None:
        """The next message; ``None`` once the hub ended this feed."""
        return await self._queue.get()


def audio_hub(redis: Redis) -> ChannelHub[PlaybackMessage]:
    """The process's subscriptions to its calls' playback channels, decoded once per message (the
    hub drops what does not decode)."""
    return ChannelHub(redis, "audio", decode_playback)


class MediaBridge:
    """One Twilio media socket."""

    def __init__(self, ctx: EdgeContext, ws: WebSocket) -> None:
        self.ctx = ctx
        self.ws = ws
        self.call_sid: str | None = None
        self.stream_sid: str | None = None
        self.tenant_id = ""
        self._last_sequence = 0
        self._forwarder: asyncio.Task[None] | None = None
        self._reported: set[str] = set()

    async def run(self) -> None:
        try:
            while True:
                raw = await self.ws.receive_text()
                if not await self._on_message(raw):
                    break
        except (WebSocketDisconnect, WebSocketDisconnected):
            pass  # Twilio hung up, or a send to it failed (which also disconnects the socket)
        finally:
            await self._finish()

    async def _on_message(self, raw: str) -> bool:
        try:
            message: dict[str, Any] = json.loads(raw)
            kind = message["event"]
        except (ValueError, KeyError, TypeError):
            await self._report("malformed", "media socket message is not Twilio JSON")
            return True
        if kind == "media":
            return await self._on_media(message)
        try:
            parsed = _MESSAGE.validate_python(message)
        except ValidationError as exc:
            await self._report(
                f"invalid:{kind}", f"invalid Twilio {kind!r} message: {exc.errors()[0]['msg']}"
            )
            return True
        match parsed:
            case Start():
                await self._on_start(parsed.start)
            case Mark() if self.call_sid:
                await self._send_audio(AudioFrame("m", self.call_sid, 0, parsed.mark.name))
            case Dtmf() if self.call_sid:
                await self.ctx.bus.deliver(
                    ReceiveDigit(
                        tenant_id=self.tenant_id, aggregate_id=self.call_sid, digit=parsed.dtmf.digit
                    )
                )
            case Stop():
                return False
        return True

    async def _on_media(self, message: dict[str, Any]) -> bool:
        if self.call_sid is None:
            await self.ws.close(code=1008, reason="media before start")
            return False
        try:
            sequence = int(message["sequenceNumber"])
            media = message["media"]
            timestamp = int(media["timestamp"])
            payload: str = media["payload"]
        except (KeyError, TypeError, ValueError):
            await self._report("malformed_media", "media message without sequenceNumber/timestamp/payload")
            return True
        if sequence <= self._last_sequence:
            await self._report("out_of_order", f"media frame {sequence} after {self._last_sequence}: dropped")
            return True
        self._last_sequence = sequence
        await self._send_audio(AudioFrame("a", self.call_sid, timestamp, payload, time.time()))
        return True

    async def _send_audio(self, frame: AudioFrame) -> None:
        try:
            await self.ctx.audio.send(frame)
        except KafkaError as exc:  # overloaded or unreachable broker: this frame is lost, the call goes on
            await self._report("audio_dropped", f"caller audio could not be queued: {exc!r}")

    async def _on_start(self, start: StartInfo) -> None:
        self.call_sid, self.stream_sid = start.callSid, start.streamSid
        self.tenant_id = start.customParameters.get("tenant_id", "")
        logs.bind(call_sid=self.call_sid, tenant_id=self.tenant_id)  # this socket's every line
        self._last_sequence = 1
        # Listen for the call's audio before the worker can produce any (the greeting comes first).
        ready = asyncio.Event()
        self._forwarder = asyncio.create_task(self._forward(ready), name=f"media-out-{start.callSid}")
        # Bounded: with Redis away the call still starts (its audio back follows once Redis is back).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), READY_WAIT_S)
        await self.ctx.bus.deliver(
            StartMedia(
                tenant_id=self.tenant_id,
                aggregate_id=start.callSid,
                stream_sid=start.streamSid,
                parameters=start.customParameters,
            )
        )

    async def _forward(self, ready: asyncio.Event) -> None:
        """Send the call's audio from its Redis channel to Twilio, on the process's shared audio
        subscriptions; if Redis is lost meanwhile, listen again once it is back (what was published in
        between is lost: a gap in the AI's speech, not a dead call)."""
        channel = playback_channel(self.ctx.settings, str(self.call_sid))
        while True:
            feed = AudioFeed()
            try:
                async with self.ctx.audio_out.listen(channel, feed):
                    ready.set()
                    while (message := await feed.get()) is not None:
                        await self._deliver(message)
            except (HubUnavailable, RedisError, OSError) as exc:
                # Redis is away: keep trying until it is back (the call itself goes on meanwhile).
                log.warning("call %s: cannot listen for its audio yet (%r)", self.call_sid, exc)
            if feed.reason == "shutdown":
                return
            await asyncio.sleep(RELISTEN_S)

    async def _deliver(self, message: PlaybackMessage) -> None:
        match message:
            case PlayMedia(payload=payload, mark=mark):
                # The model's delta as one media message, as Twilio's own sample does: Twilio plays any
                # length of μ-law in order, so cutting it into 20 ms frames would only multiply the sends.
                await self.ws.send_text(
                    '{"event":"media","streamSid":'
                    + json_string(str(self.stream_sid))
                    + ',"media":{"payload":'
                    + json_string(payload)
                    + "}}"
                )
                if mark is not None:  # the mark after this audio
                    await self._send_mark(mark)
            case PlayMark(name=name):
                await self._send_mark(name)
            case ClearPlayback():
                await self.ws.send_text(json.dumps({"event": "clear", "streamSid": self.stream_sid}))
            case CloseStream(reason=reason):
                # The worker will not serve this stream (a call it does not know, or one that has ended).
                await self.ws.close(code=1008, reason=reason)

    async def _send_mark(self, name: str) -> None:
        await self.ws.send_text(
            json.dumps({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})
        )

    async def _report(self, kind: str, message: str) -> None:
        """Record a protocol problem once per kind per socket (as an ``error.occurred`` of the call)."""
        log.info("media socket %s: %s", self.call_sid, message)
        if self.call_sid is None or kind in self._reported:
            return
        self._reported.add(kind)
        with contextlib.suppress(KafkaError):  # recording the problem must not end or stall the call
            await self.ctx.bus.send(
                RecordError(
                    tenant_id=self.tenant_id,
                    aggregate_id=self.call_sid,
                    error_type="media",
                    message=message,
                    code=kind.split(":")[0].upper(),
                )
            )

    async def _finish(self) -> None:
        if self._forwarder is not None:
            self._forwarder.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._forwarder
        if self.call_sid and self.stream_sid:
            await self.ctx.bus.deliver(
                StopMedia(tenant_id=self.tenant_id, aggregate_id=self.call_sid, stream_sid=self.stream_sid)
            )
