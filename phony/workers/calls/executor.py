"""Carries out a call's effects, apart from its decisions: the model session, the playback channel to
the caller, Twilio, recordings, timers. What comes back is posted to the call as its next input.

Nothing here waits long inside the call's step: model sends are quick WebSocket writes, playback goes
through the call's own ordered sender (which retries while Redis is away), and Twilio, storage and
timers run beside the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openai import AsyncOpenAI
from pymongo.asynchronous.database import AsyncDatabase
from redis.exceptions import RedisError

from phony import recordings
from phony.commands.calls import UpdateCallStatus
from phony.commands.playback import PlaybackMessage
from phony.config import Settings
from phony.metrics import Metrics
from phony.workers.calls.effects import (
    AddItem,
    After,
    AskStatus,
    CancelResponse,
    CloseSession,
    CreateResponse,
    Effect,
    HangUp,
    OpenSession,
    Play,
    PlayDigits,
    SaveAudio,
    Transfer,
    Truncate,
    UpdateSession,
)
from phony.workers.calls.inputs import CallInput, TelephonyDone, TelephonyFailed
from phony.workers.calls.model_session import ModelSession
from phony.workers.calls.telephony import CallUnknown, Telephony, TelephonyError
from phony.workers.playback import Fenced, PlaybackSender

log = logging.getLogger(__name__)

PLAYBACK_RETRY_PAUSE_S = 0.2


@dataclass(frozen=True)
class ExecutorDeps:
    """What every call's executor shares on this worker."""

    settings: Settings
    openai: AsyncOpenAI
    telephony: Telephony
    playback: PlaybackSender
    database: AsyncDatabase[dict[str, Any]]
    metrics: Metrics
    on_fenced: Callable[[int], None]  # the call's partition is another worker's now


class Playback:
    """One call's messages to the caller, sent in order by one task. While Redis is away each message
    is tried again for up to ``PHONY_PLAYBACK_RETRY_S`` (a gap in what the caller hears, not an ended
    call); a worker that lost the call's partition is told at the first refused message."""

    def __init__(self, deps: ExecutorDeps, call_sid: str, partition: int, token: str) -> None:
        self._deps = deps
        self._sid, self._partition, self._token = call_sid, partition, token
        self._queue: asyncio.Queue[tuple[float, PlaybackMessage]] = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name=f"playback-{call_sid}")
        self.failures = 0
        self._retrying = False  # the sender task has a message in hand
        self._fenced = False

    async def send(self, message: PlaybackMessage) -> None:
        """Send ``message`` now when nothing waits before it (the hot path: no queue, no task
        switch), else queue it behind what is being retried."""
        if self._queue.empty() and not self._retrying and not self._fenced:
            try:
                await self._deps.playback.send(self._sid, self._partition, self._token, message)
                return
            except Fenced:
                self._fenced = True
                self._deps.on_fenced(self._partition)
                return
            except (RedisError, OSError):
                pass  # queued below: the sender retries it
        if not self._fenced:
            self._queue.put_nowait((time.monotonic(), message))

    async def _run(self) -> None:
        while True:
            queued_at, message = await self._queue.get()
            self._retrying = True
            try:
                await self._send(queued_at, message)
            except Fenced:
                self._fenced = True
                self._deps.on_fenced(self._partition)
                return
            finally:
                self._retrying = False
                self._queue.task_done()

    async def _send(self, queued_at: float, message: PlaybackMessage) -> None:
        while True:
            try:
                await self._deps.playback.send(self._sid, self._partition, self._token, message)
                return
            except (RedisError, OSError) as exc:
                self.failures += 1
                if self.failures == 1 or self.failures % 100 == 0:
                    log.warning("call %s: playback unreachable (%d tries): %r", self._sid, self.failures, exc)
                if time.monotonic() - queued_at > self._deps.settings.playback_retry_s:
                    return  # too old to be worth playing: dropped
                await asyncio.sleep(PLAYBACK_RETRY_PAUSE_S)

    async def drained(self, within_s: float) -> None:
        """Wait (bounded) until what was queued has been sent."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within_s):
                await self._queue.join()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task


class CallExecutor:
    """The effects of one call."""

    def __init__(
        self,
        deps: ExecutorDeps,
        call_sid: str,
        tenant_id: str,
        partition: int,
        token: str,
        post: Callable[[CallInput], None],
    ) -> None:
        self._deps = deps
        self.sid = call_sid
        self.tenant_id = tenant_id
        self._post = post
        self.model = ModelSession(
            call_sid, deps.openai, deps.settings.model_connect_attempts, post, deps.metrics
        )
        self.playback = Playback(deps, call_sid, partition, token)
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Awaitable[Any], name: str) -> None:
        """Run ``coro`` beside the call (kept until done, so nothing is lost to the collector)."""

        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("call %s: %s failed", self.sid, name)

        task = asyncio.create_task(guarded(), name=f"{name}-{self.sid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self, effects: Sequence[Effect]) -> None:
        """Carry out ``effects`` in order."""
        for effect in effects:
            await self._run_one(effect)

    async def _run_one(self, effect: Effect) -> None:
        match effect:
            case Play():
                await self.playback.send(effect.message)
            case CreateResponse() | CancelResponse() | AddItem() | UpdateSession() | Truncate():
                await self.model.send(effect)
            case OpenSession():
                self.model.open(effect)
            case CloseSession():
                await self.model.close()
            case HangUp():
                self.spawn(self._hang_up(), "hang-up")
            case Transfer():
                self.spawn(self._transfer(effect), "transfer")
            case PlayDigits():
                self.spawn(self._digits(effect), "digits")
            case AskStatus():
                self.spawn(self._ask_status(effect), "timer-status")
            case SaveAudio():
                segment = recordings.ai_segment(
                    self.sid, self.tenant_id, effect.response_id, effect.start_ms, effect.audio
                )
                self.spawn(recordings.save(self._deps.database, segment), "save-audio")
            case After():
                self.spawn(self._after(effect), "timer")

    async def _hang_up(self) -> None:
        try:
            await self._deps.telephony.hang_up(self.sid)
        except TelephonyError as exc:  # the call may be gone already; it has ended either way
            log.info("hang-up of %s failed: %s", self.sid, exc)

    async def _transfer(self, effect: Transfer) -> None:
        try:
            await self._deps.telephony.transfer(self.sid, effect.target)
        except TelephonyError as exc:
            self._post(TelephonyFailed("transfer", effect.target, str(exc), effect.command_id))
            return
        self._post(TelephonyDone("transfer", effect.target, effect.by, effect.command_id))

    async def _digits(self, effect: PlayDigits) -> None:
        try:
            await self._deps.telephony.play_digits(self.sid, effect.digits, effect.parameters)
        except TelephonyError as exc:
            self._post(TelephonyFailed("digits", effect.digits, str(exc), effect.command_id))
            return
        self._post(TelephonyDone("digits", effect.digits, effect.by, effect.command_id))

    async def _ask_status(self, effect: AskStatus) -> None:
        await asyncio.sleep(effect.seconds)
        try:
            status, duration = await self._deps.telephony.status(self.sid)
        except CallUnknown:  # e.g. a simulated Twilio that died with the server: nothing is live there
            log.info("call %s: Twilio has no such call; it has ended", self.sid)
            status, duration = "failed", None
        except TelephonyError as exc:  # Twilio away: its own status callback is the one left
            log.warning("call %s: cannot ask Twilio how it stands: %s", self.sid, exc)
            return
        self._post(
            UpdateCallStatus(
                tenant_id=self.tenant_id, aggregate_id=self.sid, status=status, duration=duration
            )
        )

    async def _after(self, effect: After) -> None:
        await asyncio.sleep(effect.seconds)
        self._post(effect.then)

    def save(self, segment: recordings.AudioSegment | None) -> None:
        if segment is not None:
            self.spawn(recordings.save(self._deps.database, segment), "save-audio")

    async def close(self, *, drain: bool) -> None:
        """Close the model session and the playback sender; ``drain`` lets what runs beside the call
        (a hang-up, a recording) finish, else it is cancelled (the call is another worker's now)."""
        await self.model.close()
        if drain:
            pending = [t for t in self._tasks if not t.get_name().startswith("timer")]
            for task in self._tasks - set(pending):
                task.cancel()
            await asyncio.sleep(0)  # let the playback sender take what was just queued
            if pending:
                await asyncio.wait(pending, timeout=10)
            await self.playback.drained(2.0)  # the last messages (a stream's close, a goodbye's end)
        await self.playback.close()
        for task in list(self._tasks):
            task.cancel()
