"""A live call's model session: one OpenAI Realtime connection per call, through the ``openai``
package's realtime client, bridging the caller's audio in and the model's audio out.

Hot path: caller frames arrive as base64 μ-law and are appended as they are (no transcoding); model
audio deltas go to the call's Redis channel, from where the edge holding the Twilio socket sends each
as one media message followed by a mark. Mark echoes tell this session how much of each response the
caller has heard, which is what barge-in truncates to.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import time
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from openai.resources.realtime.realtime import AsyncRealtimeConnection
from websockets.exceptions import InvalidStatus

from phony import recordings
from phony.commands.audio import AudioFrame
from phony.events.calls import (
    AiResponse,
    ErrorOccurred,
    LatencyMeasured,
    ResponseApproved,
    ResponseInterrupted,
    ResponsePendingApproval,
    SpeechDetected,
)
from phony.workers.calls.caller_track import CallerTrack
from phony.workers.calls.context import CallDeps, audio_channel
from phony.workers.calls.instructions import paused_replies, session_config, verbatim
from phony.workers.calls.llm_commands import LlmCommand, extract_markers, from_tool
from phony.workers.calls.response import Response
from phony.workers.calls.state import CallState

if TYPE_CHECKING:
    from phony.workers.calls.actions import CallActions

log = logging.getLogger(__name__)

HOLD_LINE = "One moment please."
CONNECT_BACKOFF_S = 0.5  # times the attempt number
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def transcript_confidence(logprobs: Any) -> float | None:
    """How sure the transcriber was of a turn: the geometric mean of its tokens' probabilities, from
    the ``logprobs`` the session asks for (``None`` when the transcriber gives none)."""
    if not isinstance(logprobs, list):
        return None
    found = [p.get("logprob") for p in logprobs if isinstance(p, dict)]
    values = [float(v) for v in found if isinstance(v, int | float)]
    return round(math.exp(sum(values) / len(values)), 3) if values else None


class LiveCall:
    """The model session of one call on this worker."""

    def __init__(self, deps: CallDeps, actions: CallActions, call_sid: str) -> None:
        self.deps = deps
        self.actions = actions
        self.sid = call_sid
        self._stack = AsyncExitStack()
        self._conn: AsyncRealtimeConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._channel = audio_channel(deps.settings, call_sid)
        self._closing = False
        self.stream_ms = 0  # timestamp of the latest caller frame
        self._caller = CallerTrack(call_sid, deps.state(call_sid).tenant_id)
        self.responses: dict[str, Response] = {}
        self._current: Response | None = None
        self._playing: Response | None = None
        self._held: dict[str, Response] = {}
        self._verbatim_pending = 0
        self._speech_stopped_at: float | None = None
        self.expect_stream_restart = False
        self.clarification_call_id: str | None = None
        self.refusals = 0  # LLM commands refused on this call
        self._opened = asyncio.Event()

    @property
    def state(self) -> CallState:
        return self.deps.state(self.sid)

    @property
    def conn(self) -> AsyncRealtimeConnection:
        assert self._conn is not None, "session not open"
        return self._conn

    # ------------------------------------------------------------------ lifecycle
    async def open(self) -> None:
        """Connect, configure the session from the agent and the call, and greet the caller."""
        state = self.state
        assert state.agent is not None
        conn = await self._connect(state.agent.model)
        if conn is None or self._closing:  # the call ended while connecting: close() has run
            await self._stack.aclose()
            return
        self._conn = conn
        await self.conn.session.update(session=session_config(self.deps.settings, state.agent, state))  # type: ignore[arg-type]
        self._reader = asyncio.create_task(self._read(), name=f"realtime-{self.sid}")
        self._opened.set()
        if state.agent.greeting_message:
            await self.say(state.agent.greeting_message)

    async def _connect(self, model: str) -> AsyncRealtimeConnection | None:
        """Connect to the model; a connect that times out or finds the server busy (5xx, 429) is tried
        again after a pause, up to ``PHONY_MODEL_CONNECT_ATTEMPTS`` times (the caller hears silence
        meanwhile), anything else (a bad key, an unknown model) fails at once. ``None`` when the call
        ended meanwhile: there is nobody to connect for any more."""
        attempts = self.deps.settings.model_connect_attempts
        for attempt in range(1, attempts + 1):
            if self._closing:
                return None
            manager = self.deps.openai.realtime.connect(model=model, max_retries=0)
            try:
                return await self._stack.enter_async_context(manager)
            except (OSError, TimeoutError, InvalidStatus) as exc:
                if self._closing:
                    return None
                busy = not isinstance(exc, InvalidStatus) or exc.response.status_code in RETRY_STATUSES
                if not busy or attempt == attempts:
                    raise
                log.info(
                    "call %s: model connect attempt %d failed (%s); trying again", self.sid, attempt, exc
                )
                await asyncio.sleep(CONNECT_BACKOFF_S * attempt)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """End the session: store the caller's remaining audio, close the connection."""
        if self._closing:
            return
        self._closing = True
        self._store(self._caller.cut())
        if self._reader is not None and self._reader is not asyncio.current_task():
            self._reader.cancel()
        await self._stack.aclose()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ caller side (hot path)
    async def append(self, frames: list[AudioFrame]) -> None:
        """Consecutive caller frames to the model as one append, as Twilio sent them. All of them go
        into the recording; the model hears them from the moment its session is open."""
        if self._closing:
            return
        if len(frames) == 1:
            payload_b64 = frames[0].payload
            audio = base64.b64decode(payload_b64)
        else:
            audio = b"".join(base64.b64decode(frame.payload) for frame in frames)
            payload_b64 = base64.b64encode(audio).decode()
        self.stream_ms = frames[-1].timestamp_ms
        self._store(self._caller.add(audio, frames[0].timestamp_ms))
        if self._conn is not None:
            await self._conn.send_raw('{"type":"input_audio_buffer.append","audio":"' + payload_b64 + '"}')

    def _store(self, segment: recordings.AudioSegment | None) -> None:
        if segment is not None:
            self._spawn(recordings.save(self.deps.database, segment))

    def mark_played(self, name: str) -> None:
        """A mark echoed by Twilio: ``<response id>:<bytes sent before it>`` has been heard."""
        response_id, _, count = name.rpartition(":")
        response = self.responses.get(response_id)
        if response is not None and count.isdigit():
            response.note_played(int(count))

    # ------------------------------------------------------------------ model side
    async def say(self, text: str) -> None:
        """Make the model say ``text`` verbatim, interrupting whatever it is saying."""
        if self._conn is None:
            try:  # opening still: wait a little, never forever (the caller of this is the consumer)
                await asyncio.wait_for(self._opened.wait(), 5)
            except TimeoutError:
                log.warning("call %s: session not open; text not spoken: %s", self.sid, text)
                return
        if self._current is not None:
            await self.conn.response.cancel()
        self._verbatim_pending += 1
        await self.conn.response.create(response={"instructions": verbatim(text)})

    async def pause_replies(self, paused: bool) -> None:
        """Stop (or let again) the model answer the caller's turns by itself: while it waits for its
        supervisor, it hears and transcribes the caller but does not reply."""
        if self._conn is None or self._closing:
            return
        await self.conn.session.update(session=paused_replies(self.deps.settings, paused))  # type: ignore[arg-type]

    async def inform(self, text: str) -> None:
        """Tell the model ``text`` (not the caller) and let it answer the caller with it."""
        if self._conn is None or self._closing:
            return
        message = {"type": "message", "role": "system", "content": [{"type": "input_text", "text": text}]}
        await self.conn.conversation.item.create(item=message)  # type: ignore[arg-type]
        await self.conn.response.create()

    async def tool_output(self, call_id: str | None, output: dict[str, Any], respond: bool) -> None:
        """Answer a function call; ``respond`` lets the model speak about the result."""
        if call_id is None or self._closing:
            return
        await self.conn.conversation.item.create(
            item={"type": "function_call_output", "call_id": call_id, "output": json.dumps(output)}
        )
        if respond:
            await self.conn.response.create()

    async def wait_heard(self, response: Response | None, extra_s: float = 2.0) -> None:
        """Wait until the caller has heard ``response`` (bounded by its length plus ``extra_s``)."""
        if response is None or not response.audio or response.held:
            return
        bound = (len(response.audio) - response.played) / 8000 + extra_s
        try:
            await asyncio.wait_for(response.heard_all.wait(), max(0.1, bound))
        except TimeoutError:
            log.info("call %s: playback of %s not confirmed in %.1fs", self.sid, response.id, bound)

    async def approve(self, response_id: str, text: str | None) -> bool:
        """Release a held response (or replace its words with ``text``), then carry out the commands it
        carried; ``False`` if no such response is held."""
        response = self._held.pop(response_id, None)
        if response is None:
            return False
        original, markers = extract_markers(response.transcript or response.text)
        await self.deps.emit(self.sid, [ResponseApproved(response_id=response.id, text=text or original)])
        if text is not None and text != original:
            await self.say(text)
        else:
            response.held = False
            audio_b64 = base64.b64encode(bytes(response.audio)).decode()
            await self._publish_audio(response, audio_b64, len(response.audio))
            response.note_played(response.played)
            await self.deps.emit(self.sid, [self.ai_response(response, original)])
        await self._run_commands(response, markers)
        return True

    async def _read(self) -> None:
        try:
            while True:
                event: dict[str, Any] = json.loads(await self.conn.recv_bytes())
                handler = self._HANDLERS.get(event.get("type", ""))
                if handler is not None:
                    await handler(self, event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not self._closing:
                log.warning("call %s: model session lost: %s", self.sid, exc)
                await self.actions.model_lost(self.sid, f"model connection lost: {exc}")

    async def _on_speech_started(self, _: dict[str, Any]) -> None:
        # Barge-in: stop what the caller hears, and tell the model how much of its answer was heard.
        playing = self._playing
        if playing is None or playing.played >= playing.sent or playing.item_id is None:
            return
        await self.deps.redis.publish(self._channel, '{"k":"clear"}')
        playing.interrupted = True
        played_ms = playing.played * 1000 // 8000
        await self.conn.conversation.item.truncate(
            item_id=playing.item_id, content_index=0, audio_end_ms=played_ms
        )
        self._playing = None
        await self.deps.emit(self.sid, [ResponseInterrupted(response_id=playing.id, played_ms=played_ms)])

    async def _on_speech_stopped(self, _: dict[str, Any]) -> None:
        self._speech_stopped_at = time.monotonic()

    async def _on_transcription(self, event: dict[str, Any]) -> None:
        text = (event.get("transcript") or "").strip()
        if text:
            confidence = transcript_confidence(event.get("logprobs"))
            detected = SpeechDetected(
                text=text, speaker="caller", confidence=confidence, item_id=event.get("item_id")
            )
            await self.deps.emit(self.sid, [detected])

    async def _on_response_created(self, event: dict[str, Any]) -> None:
        verbatim_response = self._verbatim_pending > 0
        self._verbatim_pending = max(0, self._verbatim_pending - 1)
        agent = self.state.agent
        held = bool(agent and agent.require_approval and not verbatim_response)
        response = Response(id=event["response"]["id"], held=held)
        self.responses[response.id] = response
        self._current = response

    async def _on_output_item(self, event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if self._current is not None and item.get("type") == "message" and self._current.item_id is None:
            self._current.item_id = item.get("id")

    async def _on_audio_delta(self, event: dict[str, Any]) -> None:
        response = self.responses.get(event.get("response_id", "")) or self._current
        if response is None:
            return
        chunk: str = event["delta"]
        audio = base64.b64decode(chunk)
        response.audio += audio
        if response.held:
            return
        await self._publish_audio(response, chunk, len(audio))
        if response.first_delta:
            response.first_delta = False
            response.start_ms = self.stream_ms
            if self._speech_stopped_at is not None:
                ms = (time.monotonic() - self._speech_stopped_at) * 1000
                self._speech_stopped_at = None
                self._spawn(
                    self.deps.emit(self.sid, [LatencyMeasured(metric="turn_latency_ms", ms=round(ms, 1))])
                )

    async def _publish_audio(self, response: Response, chunk_b64: str, size: int) -> None:
        response.sent += size
        self._playing = response
        # The audio and the mark that follows it, in one message: the edge sends the frames, then the mark.
        mark = f"{response.id}:{response.sent}"
        await self.deps.redis.publish(self._channel, json.dumps({"k": "media", "p": chunk_b64, "n": mark}))

    async def _on_text_delta(self, event: dict[str, Any]) -> None:
        if self._current is not None:
            self._current.text += event.get("delta", "")

    async def _on_transcript_done(self, event: dict[str, Any]) -> None:
        response = self.responses.get(event.get("response_id", "")) or self._current
        if response is not None:
            response.transcript = event.get("transcript", event.get("text"))

    async def _on_function_call(self, event: dict[str, Any]) -> None:
        response = self.responses.get(event.get("response_id", "")) or self._current
        if response is None:
            return
        try:
            arguments = json.loads(event.get("arguments") or "{}")
        except json.JSONDecodeError:
            arguments = {}
        response.tools.append((event.get("name", ""), event.get("call_id", ""), arguments))

    async def _on_response_done(self, event: dict[str, Any]) -> None:
        body = event.get("response") or {}
        response = self.responses.get(body.get("id", "")) or self._current
        if response is None:
            return
        self._current = None
        response.done = True
        response.interrupted = response.interrupted or body.get("status") == "cancelled"
        response.note_played(response.played)
        text, markers = extract_markers(response.transcript or response.text)
        if response.audio:
            await recordings.save(
                self.deps.database,
                recordings.ai_segment(
                    self.sid, self.state.tenant_id, response.id, response.start_ms, bytes(response.audio)
                ),
            )
        if response.held and body.get("status") == "completed":
            # Its words and its commands wait for the supervisor; the caller hears the hold line.
            self._held[response.id] = response
            await self.deps.emit(self.sid, [ResponsePendingApproval(response_id=response.id, text=text)])
            await self.say(HOLD_LINE)
            return
        if text or response.audio:
            await self.deps.emit(self.sid, [self.ai_response(response, text)])
        await self._run_commands(response, markers)

    async def _run_commands(self, response: Response, markers: list[LlmCommand]) -> None:
        """The commands a response carried, as tools and as ``[[...]]`` markers, in that order."""
        for name, call_id, arguments in response.tools:
            command = from_tool(name, arguments)
            if command is not None:
                await self.actions.llm_command(self, command, "tool", call_id, response)
        for command in markers:
            await self.actions.llm_command(self, command, "marker", None, response)

    def ai_response(self, response: Response, text: str) -> AiResponse:
        agent = self.state.agent
        return AiResponse(
            response_id=response.id,
            text=text,
            audio_url=self.deps.audio_url(self.sid, response.id) if response.audio else None,
            model=agent.model if agent else "",
            interrupted=response.interrupted,
            audio_ms=len(response.audio) // 8,
        )

    async def _on_error(self, event: dict[str, Any]) -> None:
        error = event.get("error") or {}
        await self.deps.emit(
            self.sid,
            [
                ErrorOccurred(
                    error_type=f"model.{error.get('type', 'error')}",
                    message=str(error.get("message", "model error")),
                    code=str(error.get("code") or "model_error"),
                )
            ],
        )

    _HANDLERS: dict[str, Any] = {
        "input_audio_buffer.speech_started": _on_speech_started,
        "input_audio_buffer.speech_stopped": _on_speech_stopped,
        "conversation.item.input_audio_transcription.completed": _on_transcription,
        "response.created": _on_response_created,
        "response.output_item.added": _on_output_item,
        "response.output_audio.delta": _on_audio_delta,
        "response.output_audio_transcript.delta": _on_text_delta,
        "response.output_text.delta": _on_text_delta,
        "response.output_audio_transcript.done": _on_transcript_done,
        "response.output_text.done": _on_transcript_done,
        "response.function_call_arguments.done": _on_function_call,
        "response.done": _on_response_done,
        "error": _on_error,
    }
