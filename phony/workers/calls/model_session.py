"""A call's model session: one OpenAI Realtime connection (the ``openai`` package's client), its
set-up, the client events the call's decisions ask for, and the reader that turns server events into
the call's observations.

The reader only parses and posts: it never waits on Twilio, Redis or storage, so a barge-in is never
held up behind a hang-up or a slow write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack

from openai import AsyncOpenAI
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from websockets.exceptions import InvalidStatus

from phony.metrics import Metrics
from phony.workers.calls.effects import (
    AddItem,
    CancelResponse,
    CreateResponse,
    ModelEffect,
    OpenSession,
    Truncate,
    UpdateSession,
)
from phony.workers.calls.inputs import CallInput, SessionLost, SessionOpened
from phony.workers.calls.model_events import BadModelEvent, parse_server_event

log = logging.getLogger(__name__)

CONNECT_BACKOFF_S = 0.5  # times the attempt number
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
EARLY_AUDIO_S = 15  # caller audio kept while a session opens (a takeover's backlog)
BYTES_PER_S = 8000  # μ-law, 8 kHz


class ModelSession:
    """The model connection of one call on this worker."""

    def __init__(
        self,
        call_sid: str,
        openai: AsyncOpenAI,
        attempts: int,
        post: Callable[[CallInput], None],
        metrics: Metrics,
    ) -> None:
        self.sid = call_sid
        self._metrics = metrics
        self._openai = openai
        self._attempts = attempts
        self._post = post
        self._stack = AsyncExitStack()
        self._conn: AsyncRealtimeConnection | None = None
        self._opener: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._queued: list[ModelEffect] = []
        self._early_audio: list[str] = []  # caller audio (base64) that came while the session opened
        self._early_bytes = 0
        self._closing = False

    @property
    def is_open(self) -> bool:
        return self._conn is not None and not self._closing

    def open(self, effect: OpenSession) -> None:
        """Connect and set up beside the call (a connect must not hold up its other inputs); posts
        ``SessionOpened`` or ``SessionLost``. What is asked of the model meanwhile is queued."""
        if self._opener is None and not self._closing:
            self._opener = asyncio.create_task(self._open(effect), name=f"model-open-{self.sid}")

    async def _open(self, effect: OpenSession) -> None:
        try:
            conn = await self._connect(effect.model)
            if conn is None:
                return
            await conn.session.update(session=effect.session)  # type: ignore[arg-type]
            for item in effect.items:
                await conn.conversation.item.create(item=item)  # type: ignore[arg-type]
            for then in effect.then:
                await _send(conn, then)
            for queued in self._queued:
                await _send(conn, queued)
            self._queued.clear()
            # What the caller said meanwhile (a takeover reads it from the audio topic at once),
            # then, with nothing left over, the session is open for what comes next.
            while self._early_audio:
                early, self._early_audio, self._early_bytes = self._early_audio, [], 0
                for payload in early:
                    await conn.send_raw('{"type":"input_audio_buffer.append","audio":"' + payload + '"}')
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not self._closing:
                log.warning("call %s: model session failed to open: %s", self.sid, exc)
                self._post(SessionLost(f"model session failed to open: {exc}"))
            return
        self._conn = conn
        self._reader = asyncio.create_task(self._read(conn), name=f"model-read-{self.sid}")
        self._post(SessionOpened())

    async def _connect(self, model: str) -> AsyncRealtimeConnection | None:
        """Connect; a connect that times out or finds the server busy (5xx, 429) is tried again after
        a pause, anything else (a bad key, an unknown model) fails at once. ``None`` once closing."""
        for attempt in range(1, self._attempts + 1):
            if self._closing:
                return None
            manager = self._openai.realtime.connect(model=model, max_retries=0)
            self._metrics.model_connect_attempts.inc()
            try:
                return await self._stack.enter_async_context(manager)
            except (OSError, TimeoutError, InvalidStatus) as exc:
                self._metrics.model_connect_failures.inc()
                busy = not isinstance(exc, InvalidStatus) or exc.response.status_code in RETRY_STATUSES
                if self._closing or not busy or attempt == self._attempts:
                    raise
                log.info(
                    "call %s: model connect attempt %d failed (%s); trying again", self.sid, attempt, exc
                )
                await asyncio.sleep(CONNECT_BACKOFF_S * attempt)
            except Exception:
                self._metrics.model_connect_failures.inc()
                raise
        raise AssertionError("unreachable")

    async def send(self, effect: ModelEffect) -> None:
        """Send a client event now, or once the session is set up (while it opens)."""
        if self._closing:
            return
        if self._conn is None:
            self._queued.append(effect)
            return
        try:
            await _send(self._conn, effect)
        except Exception as exc:  # a dropped connection: the reader reports it
            log.info("call %s: model send failed: %s", self.sid, exc)

    async def append_audio(self, payload_b64: str) -> None:
        """Caller audio, as Twilio sent it (base64 μ-law), in one raw message (the hot path). While
        the session opens it is kept (the last ``EARLY_AUDIO_S``) and sent once it is set up."""
        if self._closing:
            return
        if self._conn is None:
            if self._opener is not None:
                self._keep_early(payload_b64)
            return
        with contextlib.suppress(Exception):  # a dropped connection: the reader reports it
            await self._conn.send_raw('{"type":"input_audio_buffer.append","audio":"' + payload_b64 + '"}')

    def _keep_early(self, payload_b64: str) -> None:
        self._early_audio.append(payload_b64)
        self._early_bytes += len(payload_b64) * 3 // 4
        while self._early_bytes > EARLY_AUDIO_S * BYTES_PER_S and len(self._early_audio) > 1:
            self._early_bytes -= len(self._early_audio.pop(0)) * 3 // 4

    async def _read(self, conn: AsyncRealtimeConnection) -> None:
        try:
            while True:
                raw = await conn.recv_bytes()
                try:
                    event = parse_server_event(raw)
                except BadModelEvent as exc:
                    log.warning("call %s: %s", self.sid, exc)
                    continue
                if event is not None:
                    self._post(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not self._closing:
                log.warning("call %s: model session lost: %s", self.sid, exc)
                self._post(SessionLost(f"model connection lost: {exc}"))

    async def close(self) -> None:
        """Close the connection at once (the call ended, or the call is no longer ours)."""
        if self._closing:
            return
        self._closing = True
        for task in (self._opener, self._reader):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        with contextlib.suppress(Exception):
            await self._stack.aclose()
        self._conn = None


async def _send(conn: AsyncRealtimeConnection, effect: ModelEffect) -> None:
    match effect:
        case CreateResponse(instructions=None):
            await conn.response.create()
        case CreateResponse():
            await conn.response.create(response={"instructions": effect.instructions})  # type: ignore[arg-type]
        case CancelResponse():
            await conn.response.cancel()
        case AddItem():
            await conn.conversation.item.create(item=effect.item)  # type: ignore[arg-type]
        case UpdateSession():
            await conn.session.update(session=effect.session)  # type: ignore[arg-type]
        case Truncate():
            await conn.conversation.item.truncate(
                item_id=effect.item_id, content_index=0, audio_end_ms=effect.audio_end_ms
            )
