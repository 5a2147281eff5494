"""A live call on this worker: one inbox, fed by the call's commands (from Kafka, in partition order)
and its model observations (from the session reader), and one task that takes each input, decides,
appends the events and hands the effects to the executor. It is the only writer of the call's events:
nothing to lock, no second writer, no re-check."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from phony import logs
from phony.commands import publish_outcome, tell_applied
from phony.commands.audio import AudioFrame
from phony.commands.base import Command
from phony.config import Settings
from phony.events.calls import CallStarted, LatencyMeasured
from phony.metrics import Metrics
from phony.workers.calls.caller_track import CallerTrack
from phony.workers.calls.decide import decide_call
from phony.workers.calls.decision import Context, Decision
from phony.workers.calls.executor import CallExecutor, ExecutorDeps
from phony.workers.calls.inputs import CallInput, MarkPlayed
from phony.workers.calls.model_events import AudioDelta
from phony.workers.calls.session_view import SessionView
from phony.workers.calls.state import CallState
from phony.workers.decisions import rejected
from phony.workers.partition_writer import OwnershipLost
from phony.workers.store import AggregateStore
from phony.workers.writer import EventWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActorDeps:
    """What every call actor on this worker shares."""

    settings: Settings
    store: AggregateStore
    writer: EventWriter
    redis: Redis
    executor: ExecutorDeps
    metrics: Metrics


_Item = tuple[CallInput, asyncio.Future[None] | None, float]  # the input, its waiter, when queued


class CallActor:
    """One call's inbox and its single writer."""

    def __init__(
        self,
        deps: ActorDeps,
        call_sid: str,
        partition: int,
        token: str,
        on_idle: Callable[[CallActor], None],
    ) -> None:
        self.deps = deps
        self.sid = call_sid
        self.partition = partition
        self.session = SessionView()
        self._inbox: asyncio.Queue[_Item] = asyncio.Queue()
        self._on_idle = on_idle
        tenant = self.state.tenant_id
        self.executor = CallExecutor(deps.executor, call_sid, tenant, partition, token, self.post)
        self._caller = CallerTrack(call_sid, tenant)
        self._task = asyncio.create_task(self._run(), name=f"call-{call_sid}")
        self.stopped = False

    @property
    def state(self) -> CallState:
        state = self.deps.store.get("call", self.sid)
        assert isinstance(state, CallState)
        return state

    # ------------------------------------------------------------------ inbox
    def post(self, input: CallInput) -> None:
        """Queue an observation or a result (the model reader, the executor, timers)."""
        if not self.stopped:
            self._inbox.put_nowait((input, None, time.monotonic()))

    async def submit(self, command: Command) -> None:
        """Queue a command and wait until it is decided and its events are on the log (the consumer
        commits its offset only then: at-least-once). ``OwnershipLost`` if the call is not ours."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait((command, done, time.monotonic()))  # type: ignore[arg-type]
        await done

    async def _run(self) -> None:
        logs.bind(call_sid=self.sid, tenant_id=self.state.tenant_id)  # this task's every line
        while True:
            input, done, queued_at = await self._inbox.get()
            try:
                await self._step(input, queued_at)
            except OwnershipLost as exc:
                self._settle(done, exc)
                self.deps.executor.on_fenced(self.partition)
                return
            except Exception as exc:
                log.exception("call %s: %s failed", self.sid, type(input).__name__)
                self._settle(done, exc)
            else:
                self._settle(done, None)
            if self._inbox.empty() and not self.state.live:
                self._on_idle(self)  # ended, or a command for a call that does not exist

    @staticmethod
    def _settle(done: asyncio.Future[None] | None, exc: BaseException | None) -> None:
        if done is None or done.done():
            return
        if exc is None:
            done.set_result(None)
        else:
            done.set_exception(exc)

    async def _step(self, input: CallInput, queued_at: float) -> None:
        state = self.state
        command = input if isinstance(input, Command) else None
        tenant_id = state.tenant_id or (command.tenant_id if command else None)
        logs.bind(tenant_id=tenant_id, command_id=command.id if command else None)
        if command is not None and command.id in state.commands:  # a redelivery: already applied
            await self._tell_applied(command)
            return
        ctx = Context(self.sid, self.deps.settings, datetime.now(UTC), time.monotonic())
        decision = decide_call(state, self.session, input, ctx)
        if decision.act_first:
            await self.executor.run(decision.effects)
        await self._append(state, decision, command)
        if not decision.act_first:
            await self.executor.run(decision.effects)
        if isinstance(input, AudioDelta) and decision.effects:  # read from the model -> sent to the edge
            self.deps.metrics.audio_hop_latency.observe(time.monotonic() - queued_at)
        for event in decision.events:
            if isinstance(event, LatencyMeasured) and event.metric == "turn_latency_ms":
                self.deps.metrics.turn_latency.observe(event.ms / 1000)

    async def _append(self, state: CallState, decision: Decision, command: Command | None) -> None:
        if decision.refusal is not None and command is not None:
            with contextlib.suppress(RedisError, OSError):  # the sender may have stopped waiting
                await publish_outcome(
                    self.deps.redis, self.deps.settings, rejected(command, decision.refusal)
                )
            return
        if not decision.events:
            if command is not None:
                await self._tell_applied(command)
            return
        if not state.exists and not isinstance(decision.events[0], CallStarted):
            log.error("call %s: %s before call.started dropped", self.sid, type(decision.events[0]).__name__)
            return
        tenant_id = state.tenant_id or (command.tenant_id if command is not None else "")
        await self.deps.writer.emit(
            state,
            decision.events,
            aggregate_id=self.sid,
            tenant_id=tenant_id,
            command_id=command.id if command is not None else None,
        )

    async def _tell_applied(self, command: Command) -> None:
        with contextlib.suppress(RedisError, OSError):  # nobody may be waiting; never fail the call
            await tell_applied(self.deps.redis, self.deps.settings, command.id, self.sid)

    # ------------------------------------------------------------------ the audio topic
    async def caller_audio(self, frames: list[AudioFrame]) -> None:
        """The caller's consecutive frames: into the recording, and to the model as one append (they
        were all waiting already, so joining them costs no time and saves sends). Marks are inputs."""
        run: list[AudioFrame] = []
        for frame in frames:
            if frame.kind == "a":
                run.append(frame)
                continue
            await self._append_audio(run)
            run = []
            self.post(MarkPlayed(frame.payload))
        await self._append_audio(run)

    async def _append_audio(self, frames: list[AudioFrame]) -> None:
        if not frames or self.stopped:
            return
        if len(frames) == 1:
            payload_b64 = frames[0].payload
            audio = base64.b64decode(payload_b64)
        else:
            audio = b"".join(base64.b64decode(frame.payload) for frame in frames)
            payload_b64 = base64.b64encode(audio).decode()
        self.session.stream_ms = frames[-1].timestamp_ms
        self.executor.save(self._caller.add(audio, frames[0].timestamp_ms))
        await self.executor.model.append_audio(payload_b64)

    # ------------------------------------------------------------------ end
    async def stop(self, *, drain: bool) -> None:
        """Stop taking inputs and close the call's session. ``drain``: the call ended here, so let its
        last effects finish and keep its caller audio; otherwise the call is another worker's now."""
        if self.stopped:
            return
        self.stopped = True
        if self._task is not asyncio.current_task():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while not self._inbox.empty():  # commands not decided here: the consumer must not commit them
            _, done, _ = self._inbox.get_nowait()
            self._settle(done, None if drain else OwnershipLost(self.partition))
        if drain:
            self.executor.save(self._caller.cut())
        await self.executor.close(drain=drain)
