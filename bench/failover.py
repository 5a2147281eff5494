"""Failover: how long a caller waits to hear the AI again, and what the log keeps, when the worker that
owns the call dies (SIGKILL) or stops (SIGSTOP for 20 s), when the broker restarts, when Redis stops.

A split deployment (1 edge, 2 workers, 1 projector) runs in a namespace of its own on the project's
servers, with the simulators (fake Twilio with its callers, fake OpenAI Realtime) in this process.
Each worker trial rings 2-4 calls (one target call and ``hold`` callers, who keep talking), finds the
worker that owns the target call (the partition of its SID; each worker logs "worker owns partitions
[...]" on every assignment, and an owner counts only while the live workers' last assignments cover
every partition once) and kills or pauses it at one of these moments of the target call:

- greeting: its caller has just received the first audio of the greeting;
- mid_reply: the fake model is streaming a reply that is not the greeting;
- approval: its agent holds replies for approval and one is held; the supervisor approves it once
  another worker has reopened the call's model session (time to hear counted from the approval);
- transfer: the AI's transfer is accepted (``command.executed``) and Twilio has not been told yet;
- request_user: the AI waits for its supervisor; answered once the call is taken over (counted from
  the answer, after checking that the reopened session still does not reply by itself).

Then the faulted worker comes back 20 s after the fault (SIGCONT, or a new process after a kill), the
group rebalances and moves some calls once more, and every call still live is ended through
``/override/end``. Two more trials run on a second deployment with a private Kafka broker
(``tests/private_kafka.py``) and a private ``redis-server``: the broker is killed and restarted, Redis
is stopped (SIGSTOP) for 15 s and continued. Everything is checked on what the outside world saw (the
simulators' records) and on the Kafka log itself (``read_log``, committed records only).

Run it (it calls ``scripts/services.sh up`` first, which also installs the private broker's jars):
    .venv/bin/python bench/failover.py [--trials 20] [--partitions 4] [--no-infra] [--log-dir DIR]

The processes' logs stay in the printed directory, with ``failover-details.json``: each call's log as
``seq:type``, its model sessions and replies, the caller lines no ``speech.detected`` followed. A
trial whose calls will not end has its workers restarted (noted in its row), so the next one starts
clean. Figures are printed, never asserted: the Markdown table to stdout, progress to stderr. On the
way out (also on Ctrl-C, SIGTERM or an error) every paused process is continued, every process this
run started is stopped, and the namespaces (topics, consumer groups, databases, Redis keys) are
deleted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import httpx
import uvloop
from aiokafka import AIOKafkaConsumer, TopicPartition
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import drop_all_of  # noqa: E402
from phony.commands.audio import call_partition  # noqa: E402
from phony.config import Settings  # noqa: E402
from phony.events import EventEnvelope  # noqa: E402
from phony.events.codec import decode  # noqa: E402
from phony.events.log import Topics, read_log  # noqa: E402
from phony.sim.realtime import RealtimeSession, RealtimeSim  # noqa: E402
from phony.sim.scenarios import parse_call_metadata  # noqa: E402
from phony.sim.twilio import SimCall, SimTimings, TwilioSim  # noqa: E402
from tests.deployment import OWNS, tenant_on  # noqa: E402
from tests.private_kafka import PrivateKafka  # noqa: E402
from tests.support import (  # noqa: E402
    PhonyProcess,
    Servers,
    SimEnv,
    TenantHandle,
    agent_body,
    free_port,
    namespace_settings,
    phony_env,
    unique_number,
)

Fault = Literal["kill", "pause", "broker", "redis"]
MOMENTS = ("greeting", "mid_reply", "approval", "transfer", "request_user")
SCENARIO_OF = {
    "greeting": ("plain", "hold"),
    "mid_reply": ("plain", "hold"),
    "approval": ("approval", "default"),
    "transfer": ("transfer", "transfer"),
    "request_user": ("plain", "request_user"),
}
TRANSFER_TARGET = "+15557654321"  # the transfer scenario's default target
PAUSE_S = 20.0  # a paused worker is continued, a killed one replaced, this long after the fault
REDIS_PAUSE_S = 15.0
HEAR_WITHIN_S = 45.0  # how long a caller may wait to hear the AI before it counts as "never"
MOMENT_WITHIN_S = 40.0
SESSION_GRACE_S = 5.0  # after call.ended, a model session still open is left open
CUT_S = 4.0  # caller lines spoken this long before the end must be on the log
POLL_S = 0.02
# A caller who waits this long for a reply is still on the line (the default 20 s is shorter than
# a paused worker plus a rebalance); the script's end is followed by silence until the app hangs up.
TIMINGS = SimTimings(reply_timeout_s=90.0, linger_s=180.0)


# ---------------------------------------------------------------------------------------- helpers
def now() -> float:
    return time.monotonic()


async def until(condition: Callable[[], bool], within: float, interval: float = POLL_S) -> bool:
    """Poll ``condition`` until it holds (True) or ``within`` seconds passed (False)."""
    deadline = now() + within
    while not condition():
        if now() > deadline:
            return False
        await asyncio.sleep(interval)
    return True


async def sleep_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - now()))


def percentile(samples: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..1), None without samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def fmt(value: float | None, suffix: str = "") -> str:
    return "-" if value is None else f"{value:.1f}{suffix}"


def replies_paused(session: RealtimeSession | None) -> bool:
    """Whether the model's session is set not to answer the caller's turns by itself."""
    audio = session.config.get("audio") if session else None
    detection = audio["input"]["turn_detection"] if isinstance(audio, dict) else None
    return isinstance(detection, dict) and detection.get("create_response") is False


_FENCED = re.compile(r"partition (\d+): fenced")
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def last_assignment(worker: PhonyProcess) -> tuple[float, set[int]] | None:
    """When (as ``time.monotonic()``) the worker logged its last assignment, and its partitions."""
    if worker.log_path is None or not worker.log_path.exists():
        return None
    found = None
    for line in worker.log_path.read_text(errors="replace").splitlines():
        if OWNS in line and (m := _STAMP.match(line)):
            found = (m.group(1), line.split(OWNS, 1)[1].strip())
    if found is None:
        return None
    wall = datetime.strptime(found[0], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    listed = found[1].strip("[]")
    partitions = {int(p) for p in listed.split(",") if p.strip()}
    return wall - (time.time() - now()), partitions


# ---------------------------------------------------------------------------------------- servers
@dataclass
class OwnRedis:
    """A ``redis-server`` of this run's own on a free port, paused and killed by PID."""

    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    paused: bool = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def spawn(self) -> None:
        args = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        self.proc = subprocess.Popen([*args, "--appendonly", "no"], stdout=subprocess.DEVNULL)

    async def start(self) -> None:
        self.spawn()
        client = Redis.from_url(self.url)
        try:
            for _ in range(100):
                with contextlib.suppress(Exception):
                    if await client.ping():
                        return
                await asyncio.sleep(0.1)
            raise RuntimeError("the private redis-server did not start")
        finally:
            await client.aclose()

    def pause(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.proc is not None and self.paused:
            os.kill(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def kill(self) -> None:
        self.resume()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


# ---------------------------------------------------------------------------------------- observers
class Clock:
    """Timestamps what the simulators' records do not: when each model session opened and closed,
    when each model response started, when each mark reached a caller, when a transfer was dialled."""

    def __init__(self, twilio: TwilioSim, model: RealtimeSim) -> None:
        self.twilio, self.model = twilio, model
        self.session_seen: dict[str, float] = {}
        self.session_closed: dict[str, float] = {}
        self.run_seen: dict[str, float] = {}  # response id -> first seen
        self.run_session: dict[str, str] = {}  # response id -> session id
        self.marks: defaultdict[str, list[tuple[float, str]]] = defaultdict(list)  # call sid -> marks
        self.dialed_at: dict[str, float] = {}
        self.lines: defaultdict[str, list[float]] = defaultdict(list)  # call sid -> when each line began
        self._callers: dict[str, str] = {}  # session id -> caller number
        self._open: list[RealtimeSession] = []
        self._known = 0
        self._calls: list[SimCall] = []
        self._marks_seen: dict[tuple[str, int], int] = {}

    def track(self, call: SimCall) -> None:
        self._calls.append(call)

    def caller_of(self, session: RealtimeSession) -> str | None:
        caller = self._callers.get(session.id)
        if caller is None:
            caller = parse_call_metadata(str(session.config.get("instructions", ""))).get("from")
            if caller:
                self._callers[session.id] = caller
        return caller

    def sessions_of(self, caller: str) -> list[RealtimeSession]:
        return [s for s in self.model.sessions if self.caller_of(s) == caller]

    def poll(self) -> None:
        t = now()
        sessions = self.model.sessions
        for session in sessions[self._known :]:
            self.session_seen[session.id] = t
            self._open.append(session)
        self._known = len(sessions)
        still: list[RealtimeSession] = []
        for session in self._open:
            self.caller_of(session)
            for run in session.responses:
                if run.id not in self.run_seen:
                    self.run_seen[run.id], self.run_session[run.id] = t, session.id
            if session.closed:
                self.session_closed[session.id] = t
            else:
                still.append(session)
        self._open = still
        for call in self._calls:
            for i, stream in enumerate(call.streams):
                seen = self._marks_seen.get((call.sid, i), 0)
                names = stream.marks_received
                self.marks[call.sid].extend((t, name) for name in names[seen:])
                self._marks_seen[(call.sid, i)] = len(names)
            spoken = sum(len(stream.lines_spoken) for stream in call.streams)
            self.lines[call.sid].extend([t] * (spoken - len(self.lines[call.sid])))
            if call.dialed and call.sid not in self.dialed_at:
                self.dialed_at[call.sid] = t

    async def run(self) -> None:
        while True:
            self.poll()
            await asyncio.sleep(POLL_S)


class LogTail:
    """The events topic as it is committed, followed live (for waiting on a call's events and timing
    them); the verdicts are made on a fresh read of the log (``read_log``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.events: defaultdict[str, list[tuple[float, EventEnvelope]]] = defaultdict(list)
        self._offsets: dict[int, int] = {}

    async def run(self) -> None:
        topic = Topics.of(self.settings).events
        while True:  # a broker restart may fail the consumer: start another where it was
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.settings.kafka_bootstrap,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                isolation_level="read_committed",
                request_timeout_ms=5000,
            )
            try:
                await consumer.start()
                tps = [TopicPartition(topic, p) for p in range(self.settings.partitions)]
                consumer.assign(tps)
                for tp in tps:
                    consumer.seek(tp, self._offsets.get(tp.partition, 0))
                while True:
                    batch = await consumer.getmany(timeout_ms=200)
                    t = now()
                    for tp, records in batch.items():
                        for record in records:
                            self._offsets[tp.partition] = record.offset + 1
                            if record.value is not None:
                                event = decode(record.value)
                                self.events[event.aggregate_id].append((t, event))
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    await consumer.stop()

    def of(self, sid: str) -> list[EventEnvelope]:
        return [e for _, e in self.events.get(sid, [])]

    def first(self, sid: str, match: Callable[[EventEnvelope], bool], after: float = 0.0) -> float | None:
        return next((t for t, e in self.events.get(sid, []) if t >= after and match(e)), None)

    async def wait(
        self, sid: str, match: Callable[[EventEnvelope], bool], within: float
    ) -> EventEnvelope | None:
        found: list[EventEnvelope] = []

        def seen() -> bool:
            found[:] = [e for e in self.of(sid) if match(e)]
            return bool(found)

        return found[0] if await until(seen, within, 0.05) else None


def of_type(type_: str) -> Callable[[EventEnvelope], bool]:
    return lambda e: e.type == type_


# ---------------------------------------------------------------------------------------- deployment
class TrialFailed(Exception):
    """The trial could not be run as planned (the reason goes in its row)."""


@dataclass
class Deployment:
    """One edge, two workers and one projector in a namespace of their own, on ``servers`` (or on a
    private broker and redis-server of this run)."""

    label: str
    servers: Servers
    sims: SimEnv
    partitions: int
    log_dir: Path
    kafka: PrivateKafka | None = None
    redis: OwnRedis | None = None
    namespace: str = field(default_factory=lambda: f"fo{uuid.uuid4().hex[:10]}")
    edge: PhonyProcess | None = None
    projector: PhonyProcess | None = None
    workers: list[PhonyProcess] = field(default_factory=list)
    retired: list[PhonyProcess] = field(default_factory=list)  # killed workers (their logs stay)
    paused: set[int] = field(default_factory=set)
    numbers: dict[str, str] = field(default_factory=dict)  # agent kind -> its number
    tenant: TenantHandle | None = None
    tail: LogTail | None = None

    @property
    def env(self) -> dict[str, str]:
        return phony_env(self.servers, self.namespace, self.sims, PHONY_PARTITIONS=str(self.partitions))

    @property
    def settings(self) -> Settings:
        return namespace_settings(self.servers, self.namespace, self.partitions)

    def processes(self) -> list[PhonyProcess]:
        return [p for p in (self.edge, self.projector, *self.workers, *self.retired) if p is not None]

    def running(self, process: PhonyProcess) -> bool:
        proc = process.proc
        return proc is not None and proc.poll() is None and proc.pid not in self.paused

    def live_workers(self) -> list[PhonyProcess]:
        return [w for w in self.workers if self.running(w)]

    def assignment(self) -> dict[int, PhonyProcess] | None:
        """Partition -> worker, if the live workers' last logged assignments cover every partition
        once (a worker that was just continued still shows its old one: no answer until it rejoins)."""
        owners: dict[int, PhonyProcess] = {}
        for worker in self.live_workers():
            found = last_assignment(worker)
            if found is None or not found[1]:
                return None
            for partition in found[1]:
                if partition in owners:
                    return None
                owners[partition] = worker
        return owners if set(owners) == set(range(self.partitions)) else None

    def owner_of(self, call_sid: str) -> PhonyProcess | None:
        owners = self.assignment()
        return owners.get(call_partition(call_sid, self.partitions)) if owners else None

    async def balanced(self, within: float = 60.0) -> bool:
        """Wait until two live workers share every partition."""
        return await until(
            lambda: len(self.live_workers()) == 2 and self.assignment() is not None, within, 0.2
        )

    def start_worker(self) -> PhonyProcess:
        worker = PhonyProcess("worker", self.env)
        worker.start(self.log_dir)
        self.workers.append(worker)
        return worker

    def kill(self, worker: PhonyProcess) -> None:
        assert worker.proc is not None
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait(10)
        self.workers.remove(worker)
        self.retired.append(worker)

    async def restart_workers(self) -> None:
        """Stop the workers (SIGTERM, then SIGKILL after 10 s) and start two new ones."""
        self.resume_all()
        old, self.workers = self.workers, []
        await asyncio.gather(*(asyncio.to_thread(w.stop) for w in old))
        self.retired += old
        for _ in range(2):
            self.start_worker()
        await self.balanced(90)

    def pause(self, worker: PhonyProcess) -> None:
        assert worker.proc is not None
        os.kill(worker.proc.pid, signal.SIGSTOP)
        self.paused.add(worker.proc.pid)

    def resume(self, worker: PhonyProcess) -> None:
        assert worker.proc is not None
        if worker.proc.pid in self.paused:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.proc.pid, signal.SIGCONT)
            self.paused.discard(worker.proc.pid)

    def resume_all(self) -> None:
        for pid in list(self.paused):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.paused.clear()

    async def start(self, stack: contextlib.AsyncExitStack) -> None:
        """Start the servers of its own, the processes, a tenant with its three agents, the log tail;
        ``stack`` stops and deletes everything on the way out."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        stack.push_async_callback(self.stop)
        if self.redis is not None:
            await self.redis.start()
        if self.kafka is not None:
            await asyncio.to_thread(self.kafka.start)
            await self.kafka.ready()
        self.edge, self.projector = PhonyProcess("edge", self.env), PhonyProcess("projector", self.env)
        self.edge.start(self.log_dir)
        await self.edge.ready()  # the edge creates the topics
        for _ in range(2):
            self.start_worker()
        self.projector.start(self.log_dir)
        if not await self.balanced(90):
            raise RuntimeError(f"{self.label}: the workers did not share the partitions in 90 s")
        self.tenant = await stack.enter_async_context(tenant_on(self.edge))
        kinds: dict[str, dict[str, Any]] = {
            "plain": {},
            "approval": {"require_approval": True, "greeting_message": None},
            "transfer": {
                "transfer_allowlist": ["+1555765"],
                "system_prompt": f"Transfer to {TRANSFER_TARGET} when asked.",
            },
        }
        for kind, overrides in kinds.items():
            number = unique_number()
            body = agent_body(name=f"failover {kind}", phone_numbers=[number], **overrides)
            created = await self.tenant.client.post("/agents/", json=body)
            if created.status_code != 201:
                raise RuntimeError(f"{self.label}: creating an agent failed: {created.text}")
            self.numbers[kind] = number
        self.tail = LogTail(self.settings)
        tail = asyncio.create_task(self.tail.run(), name=f"tail-{self.label}")
        stack.push_async_callback(cancel, tail)

    async def stop(self) -> None:
        """Continue what is paused, stop every process, delete the namespace, stop the own servers."""
        self.resume_all()
        if self.redis is not None:
            self.redis.resume()
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in self.processes()))
        with contextlib.suppress(Exception):
            async with asyncio.timeout(60):
                await self.drop()
        if self.kafka is not None:
            await asyncio.to_thread(self.kafka.kill)
        if self.redis is not None:
            self.redis.kill()

    async def drop(self) -> None:
        """The namespace's topics and database, its consumer groups and its Redis keys."""
        await drop_all_of(self.servers, self.settings)

    def log_sizes(self) -> dict[Path, int]:
        return {p.log_path: p.log_path.stat().st_size for p in self.processes() if p.log_path}

    def log_since(self, sizes: dict[Path, int], only: PhonyProcess | None = None) -> list[tuple[str, str]]:
        """(process, line) of every log line written since ``sizes`` (by ``only``, if given)."""
        out: list[tuple[str, str]] = []
        for process in [only] if only else self.processes():
            if process.log_path is None or not process.log_path.exists():
                continue
            with process.log_path.open("rb") as f:
                f.seek(sizes.get(process.log_path, 0))
                text = f.read().decode(errors="replace")
            name = f"{process.role} {process.log_path.name}"
            out += [(name, line) for line in text.splitlines()]
        return out


async def cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


_EXCEPTION = re.compile(r"^[\s|+-]*([A-Za-z_][\w.]*(?:Error|Exception|Lost|Exit|Fenced|Group)\w*(?::.*)?)$")


def problems_in(lines: list[tuple[str, str]]) -> list[str]:
    """ERROR lines, each with the last exception line of the traceback that follows it, alike ones
    counted once (with how many times they came)."""
    found: list[str] = []
    for name, line in lines:
        if " ERROR " in line or " CRITICAL " in line:
            found.append(f"{name}: {_STAMP.sub('', line)}")
        elif found and not _STAMP.match(line) and (m := _EXCEPTION.match(line)):
            head = found[-1].split("\n    -> ")[0]
            found[-1] = f"{head}\n    -> {m.group(1)}"
    counts: dict[str, int] = {}
    for entry in found:
        counts[entry] = counts.get(entry, 0) + 1
    return [f"{n} x {entry}" if n > 1 else entry for entry, n in counts.items()]


# ---------------------------------------------------------------------------------------- calls
@dataclass
class World:
    twilio: TwilioSim
    model: RealtimeSim
    clock: Clock


@dataclass
class Live:
    call: SimCall
    caller: str
    scenario: str
    partition: int
    target: bool


@dataclass
class CallOutcome:
    live: Live
    hit: bool = False  # on the faulted worker (all calls, for the broker and Redis)
    ref: float = 0.0  # what its time to hear again counts from (the fault, or the supervisor's action)
    gated: bool = False  # counted from the supervisor's action
    reopened_s: float | None = None
    hear_s: float | None = None
    moved: bool = False  # moved again when the faulted worker came back
    rejoin_s: float | None = None
    turns_lost: int = 0
    turns_doubled: int = 0
    unrecorded: int = 0
    stale: int = 0
    gaps: int = 0
    dups: int = 0
    ended: int = 0
    open_sessions: int = 0
    detail: dict[str, Any] = field(default_factory=dict)  # for the JSON dump beside the logs


@dataclass
class Trial:
    number: int
    fault: Fault
    moment: str
    calls: list[CallOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: str | None = None


async def ring(world: World, dep: Deployment, kind: str, scenario: str, target: bool) -> Live:
    """A simulated caller following ``scenario`` rings the agent of ``kind``; returns once the call's
    media has started (on the log)."""
    assert dep.edge is not None
    assert dep.tail is not None
    caller = "+1555" + str(uuid.uuid4().int % 10**7).zfill(7)
    call = await world.twilio.place_inbound_call(caller, dep.numbers[kind], dep.edge.url, scenario=scenario)
    world.clock.track(call)
    if await dep.tail.wait(call.sid, of_type("media.started"), 40) is None:
        raise TrialFailed(f"call {call.sid} ({scenario}) had no media.started in 40 s")
    return Live(call, caller, scenario, call_partition(call.sid, dep.partitions), target)


def reopened(world: World, live: Live, after: float) -> float | None:
    """When a model session of the call opened after ``after`` (another worker took it over)."""
    seen = [world.clock.session_seen.get(s.id) for s in world.clock.sessions_of(live.caller)]
    later = [t for t in seen if t is not None and t > after]
    return min(later) if later else None


def newest_session(world: World, live: Live) -> RealtimeSession | None:
    sessions = world.clock.sessions_of(live.caller)
    return sessions[-1] if sessions else None


async def reach(world: World, dep: Deployment, moment: str, target: Live) -> EventEnvelope | None:
    """Wait for the target call's moment; the event that marks it, if one does."""
    assert dep.tail is not None
    sid, call = target.call.sid, target.call
    found: EventEnvelope | None = None
    if moment == "greeting":
        ok = await until(lambda: call.frames_received > 0, MOMENT_WITHIN_S, 0.005)
    elif moment == "mid_reply":

        def streaming() -> bool:
            session = newest_session(world, target)
            runs = session.responses if session else []
            return len(runs) >= 2 and not runs[-1].finished and bool(runs[-1].output)

        ok = await until(streaming, MOMENT_WITHIN_S, 0.005)
    elif moment == "approval":
        found = await dep.tail.wait(sid, of_type("response.pending_approval"), MOMENT_WITHIN_S)
        ok = found is not None
    elif moment == "transfer":

        def accepted(e: EventEnvelope) -> bool:
            return e.type == "command.executed" and e.data.get("command") == "transfer"

        found = await dep.tail.wait(sid, accepted, MOMENT_WITHIN_S)
        ok = found is not None and found.data.get("accepted", True) is not False
    else:
        found = await dep.tail.wait(sid, of_type("clarification.requested"), MOMENT_WITHIN_S)
        ok = found is not None and await until(lambda: replies_paused(newest_session(world, target)), 10)
    if not ok:
        raise TrialFailed(f"moment {moment} not reached in {MOMENT_WITHIN_S:.0f} s")
    return found


def heard_at(dep: Deployment, outcome: CallOutcome) -> float | None:
    """When the caller heard the AI after ``outcome.ref``; for a transfer, when it was transferred."""
    assert dep.tail is not None
    live = outcome.live
    if live.scenario == "transfer":
        return dep.tail.first(live.call.sid, of_type("call.transferred"))
    return live.call.first_ai_audio_after(outcome.ref)


def is_ended(dep: Deployment, live: Live) -> bool:
    assert dep.tail is not None
    return dep.tail.first(live.call.sid, of_type("call.ended")) is not None


async def wait_heard(dep: Deployment, outcomes: list[CallOutcome], within: float = HEAR_WITHIN_S) -> None:
    await until(lambda: all(heard_at(dep, o) is not None or is_ended(dep, o.live) for o in outcomes), within)
    for o in outcomes:
        at = heard_at(dep, o)
        o.hear_s = None if at is None else max(0.0, at - o.ref)


async def supervise(
    world: World,
    dep: Deployment,
    trial: Trial,
    target: CallOutcome,
    marker: EventEnvelope | None,
    fault_at: float,
) -> None:
    """Approve the held reply, or answer the AI's question, once another worker has the call."""
    assert dep.tenant is not None
    assert dep.tail is not None
    live, client = target.live, dep.tenant.client
    await until(lambda: reopened(world, live, fault_at) is not None, 30)
    taken = reopened(world, live, fault_at)
    if taken is None:
        trial.notes.append("target not reopened in 30 s")
    await asyncio.sleep(1.5)
    target.gated, target.ref = True, now()
    if trial.moment == "request_user":
        if taken is not None:
            kept = replies_paused(newest_session(world, live))
            spoke = live.call.first_ai_audio_after(taken + 0.5)
            trial.notes.append("pause kept" if kept and spoke is None else "**pause lost after takeover**")
        r = await client.post(
            "/override/clarification", json={"callSid": live.call.sid, "response": "$42.10"}
        )
    else:
        assert marker is not None
        rid = marker.data["response_id"]
        r = await client.post("/override/approve", json={"callSid": live.call.sid, "response_id": rid})
    if r.status_code != 200:
        trial.notes.append(f"supervisor action refused: {r.status_code} {r.text[:120]}")


async def finish(
    world: World, dep: Deployment, trial: Trial, outcomes: list[CallOutcome], fault_at: float
) -> None:
    """End every live call, then judge each on the log and on the simulators' records."""
    assert dep.tenant is not None
    assert dep.tail is not None
    cut_at = now()
    await asyncio.sleep(CUT_S)
    for o in outcomes:
        if not is_ended(dep, o.live):
            r = await dep.tenant.client.post("/override/end", json={"callSid": o.live.call.sid})
            if r.status_code not in (200, 404):
                trial.notes.append(f"end refused: {r.status_code} {r.text[:120]}")
    if not await until(lambda: all(is_ended(dep, o.live) for o in outcomes), 30):
        trial.notes.append("**a call not ended 30 s after /override/end**")
    await asyncio.sleep(SESSION_GRACE_S)
    world.clock.poll()
    tenant_id = dep.tenant.id
    for o in outcomes:
        live = o.live
        sid = live.call.sid
        events = [logged.event async for logged in read_log(dep.settings, aggregate_id=sid)]
        seqs = [e.seq for e in events]
        o.dups = len(seqs) - len(set(seqs))
        if len({e.id for e in events}) != len(events):
            trial.notes.append(f"**{sid}: an event id twice on the log**")
        o.gaps = len(set(range(1, max(seqs, default=0) + 1)) - set(seqs))
        o.ended = sum(1 for e in events if e.type == "call.ended")
        if any(e.tenant_id != tenant_id for e in events):
            trial.notes.append(f"**{sid}: events of another tenant**")
        replies = [e.data["response_id"] for e in events if e.type == "ai.response"]
        if len(replies) != len(set(replies)):
            trial.notes.append(f"**{sid}: a reply recorded twice**")
        detected = sum(1 for e in events if e.type == "speech.detected" and e.data.get("speaker") == "caller")
        # Each caller line said before the cut should be on the log once, before the next line began.
        clock = world.clock
        starts = clock.lines[sid]
        transcribed = [
            t
            for t, e in dep.tail.events.get(sid, [])
            if e.type == "speech.detected" and e.data.get("speaker") == "caller"
        ]
        lost_lines: list[float] = []
        for k, start in enumerate(s for s in starts if s < cut_at):
            stop = starts[k + 1] if k + 1 < len(starts) else math.inf
            found = sum(1 for t in transcribed if start <= t < stop)
            if found == 0:
                lost_lines.append(round(start - fault_at, 1))
            o.turns_doubled += max(0, found - 1)
        o.turns_lost = len(lost_lines)
        recorded = {
            str(e.data.get("response_id"))
            for e in events
            if e.type in ("ai.response", "response.interrupted", "response.pending_approval")
        }
        heard = {name.rpartition(":")[0] for t, name in clock.marks[sid]}
        begun = {rid for rid in heard if clock.run_seen.get(rid, math.inf) < cut_at}
        o.unrecorded = len(begun - recorded)
        o.detail = {
            "sid": sid,
            "caller": live.caller,
            "scenario": live.scenario,
            "partition": live.partition,
            "hit": o.hit,
            "log": [f"{e.seq}:{e.type}" for e in events],
            "lines_spoken": len(live.call.lines_spoken),
            "caller_turns_on_log": detected,
            "lines_lost_said_at_s": lost_lines,
            "unrecorded": {
                rid: {
                    "session": clock.run_session.get(rid),
                    "begun_s": round(clock.run_seen.get(rid, math.nan) - fault_at, 2),
                    "text": next(
                        (
                            r.plan.text
                            for s in clock.sessions_of(live.caller)
                            for r in s.responses
                            if r.id == rid
                        ),
                        None,
                    ),
                }
                for rid in sorted(begun - recorded)
            },
            "sessions": [
                {
                    "id": session.id,
                    "opened_s": round(clock.session_seen.get(session.id, math.nan) - fault_at, 2),
                    "closed_s": round(clock.session_closed.get(session.id, math.nan) - fault_at, 2),
                    "replies": [(r.id, r.status, r.plan.text) for r in session.responses],
                }
                for session in clock.sessions_of(live.caller)
            ],
        }
        if o.hit and trial.fault in ("kill", "pause"):
            old = {s.id for s in clock.sessions_of(live.caller) if clock.session_seen.get(s.id, 0) < fault_at}
            o.stale = len(
                {
                    name
                    for t, name in clock.marks[sid]
                    if t > fault_at + 1.0 and clock.run_session.get(name.rpartition(":")[0]) in old
                }
            )
        o.open_sessions = sum(1 for s in clock.sessions_of(live.caller) if not s.closed)
        if live.scenario == "transfer":
            transferred = sum(1 for e in events if e.type == "call.transferred")
            dials = sum(1 for doc in live.call.twiml if "<Dial" in doc)
            ok = transferred == 1 and dials == 1 and live.call.dialed == TRANSFER_TARGET
            verdict = "transfer done once" if ok else "**transfer not done exactly once**"
            trial.notes.append(f"{verdict} ({transferred} call.transferred, {dials} <Dial>)")


# ---------------------------------------------------------------------------------------- trials
async def resume_at(dep: Deployment, worker: PhonyProcess, moment: float) -> float:
    await sleep_until(moment)
    dep.resume(worker)
    return now()


async def worker_trial(
    world: World, dep: Deployment, number: int, moment: str, fault: Literal["kill", "pause"], calls: int
) -> Trial:
    """Kill or pause the owner of a target call at ``moment``, with ``calls`` calls live."""
    assert dep.tail is not None
    assert dep.tenant is not None
    trial = Trial(number, fault, moment)
    sizes = dep.log_sizes()
    outcomes: list[CallOutcome] = []
    resumed: asyncio.Task[float] | None = None
    try:
        if not await dep.balanced(60):
            raise TrialFailed("the workers did not share the partitions in 60 s")
        await asyncio.sleep(1.0)
        holds = await asyncio.gather(*(ring(world, dep, "plain", "hold", False) for _ in range(calls - 1)))
        outcomes += [CallOutcome(h) for h in holds]
        await until(lambda: all(h.call.frames_received > 0 for h in holds), 20)
        kind, scenario = SCENARIO_OF[moment]
        target = CallOutcome(await ring(world, dep, kind, scenario, True))
        outcomes.append(target)
        marker = await reach(world, dep, moment, target.live)
        owner = dep.owner_of(target.live.call.sid)
        found = last_assignment(owner) if owner else None
        if owner is None or found is None:
            raise TrialFailed("no single owner of the target call in the workers' logs")
        for o in outcomes:
            o.hit = o.live.partition in found[1]
        fault_at = now()
        if fault == "kill":
            dep.kill(owner)
        else:
            dep.pause(owner)
            resumed = asyncio.create_task(resume_at(dep, owner, fault_at + PAUSE_S))
        for o in outcomes:
            o.ref = fault_at
        if moment in ("approval", "request_user"):
            await supervise(world, dep, trial, target, marker, fault_at)
        hit = [o for o in outcomes if o.hit]
        await wait_heard(dep, hit)
        for o in hit:
            taken = reopened(world, o.live, fault_at)
            o.reopened_s = None if taken is None else taken - fault_at
        if moment == "approval" and marker is not None:
            text = marker.data["text"]
            spoken = await dep.tail.wait(
                target.live.call.sid, lambda e: e.type == "ai.response" and e.data.get("text") == text, 20
            )
            trial.notes.append("approved reply spoken" if spoken else "**approved reply not spoken**")
        if moment == "request_user":
            answered = dep.tail.first(target.live.call.sid, of_type("clarification.answered"))
            trial.notes.append("answer recorded" if answered else "**answer not recorded**")

        # The faulted worker comes back (continued, or a new process): some calls move once more.
        survivor = next(w for w in dep.live_workers() if w is not owner)
        if fault == "kill":
            await sleep_until(fault_at + PAUSE_S)
            returning = dep.start_worker()
            back_at = now()
        else:
            assert resumed is not None
            back_at = await resumed
            resumed, returning = None, owner
        if not await dep.balanced(60):
            trial.notes.append("**workers not balanced 60 s after the rejoin**")
        else:
            moved_at, _ = last_assignment(survivor) or (back_at, set())
            theirs = last_assignment(returning)
            mine = theirs[1] if theirs else set()
            moving = [o for o in outcomes if o.live.partition in mine and not is_ended(dep, o.live)]
            for o in moving:
                o.moved, o.ref = True, moved_at
            await until(lambda: all(o.live.call.first_ai_audio_after(o.ref) is not None for o in moving), 45)
            for o in moving:
                at = o.live.call.first_ai_audio_after(o.ref)
                o.rejoin_s = None if at is None else at - o.ref
        if fault == "pause":
            old = [
                s
                for o in outcomes
                if o.hit
                for s in world.clock.sessions_of(o.live.caller)
                if world.clock.session_seen.get(s.id, 0) < fault_at
            ]
            closed = [world.clock.session_closed.get(s.id) for s in old]
            if old and all(t is not None for t in closed):
                last = max(t for t in closed if t is not None)
                trial.notes.append(f"old owner's sessions closed {last - back_at:+.1f} s after SIGCONT")
            elif old:
                trial.notes.append("**old owner's sessions still open after SIGCONT**")
            fenced = any(
                "is another worker's" in line or "fenced" in line for _, line in dep.log_since(sizes, owner)
            )
            trial.notes.append("old owner logged its fencing" if fenced else "old owner logged no fencing")
        # The survivor fenced on a partition it still owns: someone else claimed that partition's writer.
        kept = (last_assignment(survivor) or (0.0, set()))[1]
        hits = {int(m.group(1)) for _, line in dep.log_since(sizes, survivor) if (m := _FENCED.search(line))}
        if hits & kept:
            trial.notes.append(f"**survivor fenced on partition {sorted(hits & kept)} it still owns**")
        await asyncio.sleep(2.0)
        await finish(world, dep, trial, outcomes, fault_at)
    except Exception as exc:  # the run goes on with the next trial; the reason is in this one's row
        trial.failed = str(exc) if isinstance(exc, TrialFailed) else repr(exc)
    finally:
        if resumed is not None and not resumed.done():
            resumed.cancel()
            dep.resume_all()
    if len(dep.live_workers()) < 2 and not dep.paused:
        dep.start_worker()
    await recover(world, dep, trial, outcomes)
    trial.calls = outcomes
    trial.errors = problems_in(dep.log_since(sizes))
    return trial


async def recover(world: World, dep: Deployment, trial: Trial, outcomes: list[CallOutcome]) -> None:
    """Make sure the next trial starts with no call of this one: end them, and when the deployment
    does not (a partition stuck with a fenced writer, say), restart the workers, then hang up."""
    assert dep.tenant is not None
    live = [o for o in outcomes if not is_ended(dep, o.live)]
    if not live:
        return
    for o in live:
        with contextlib.suppress(httpx.HTTPError):
            await dep.tenant.client.post("/override/end", json={"callSid": o.live.call.sid})
    if await until(lambda: all(is_ended(dep, o.live) for o in live), 20):
        return
    trial.notes.append("**calls would not end: workers restarted**")
    await dep.restart_workers()
    if await until(lambda: all(is_ended(dep, o.live) for o in live), 30):
        return
    trial.notes.append("**calls still live after the restart: hung up by the callers**")
    for o in live:
        with contextlib.suppress(KeyError):
            world.twilio.hang_up(o.live.call.sid)
    await until(lambda: all(is_ended(dep, o.live) for o in live), 20)


async def infra_trial(world: World, dep: Deployment, number: int, fault: Literal["broker", "redis"]) -> Trial:
    """Three ``hold`` calls; the deployment's own broker is killed and restarted, or its own Redis is
    stopped for :data:`REDIS_PAUSE_S` and continued."""
    assert dep.tail is not None
    trial = Trial(number, fault, "3 live calls")
    sizes = dep.log_sizes()
    outcomes: list[CallOutcome] = []
    try:
        if not await dep.balanced(60):
            raise TrialFailed("the workers did not share the partitions in 60 s")
        lives = await asyncio.gather(*(ring(world, dep, "plain", "hold", False) for _ in range(3)))
        outcomes = [CallOutcome(live, hit=True) for live in lives]
        tail = dep.tail

        def talking() -> bool:
            return all(sum(e.type == "ai.response" for e in tail.of(o.live.call.sid)) >= 2 for o in outcomes)

        if not await until(talking, 40):
            raise TrialFailed("the calls did not get past their first reply in 40 s")
        fault_at = now()
        if fault == "broker":
            assert dep.kafka is not None
            await asyncio.to_thread(dep.kafka.kill)
            await asyncio.to_thread(dep.kafka.start)
            await dep.kafka.ready(90)
        else:
            assert dep.redis is not None
            dep.redis.pause()
            try:
                await asyncio.sleep(REDIS_PAUSE_S)
            finally:
                dep.redis.resume()
        back_at = now()
        trial.notes.append(f"{fault} back after {back_at - fault_at:.1f} s")
        for o in outcomes:
            o.ref = back_at
        await wait_heard(dep, outcomes, 60)
        for o in outcomes:
            o.ref = fault_at
            if o.hear_s is not None:
                o.hear_s += back_at - fault_at
            taken = reopened(world, o.live, fault_at)
            o.reopened_s = None if taken is None else taken - fault_at
        if not await dep.balanced(60):
            trial.notes.append("**workers not balanced 60 s after the outage**")
        await asyncio.sleep(2.0)
        await finish(world, dep, trial, outcomes, fault_at)
    except Exception as exc:
        trial.failed = str(exc) if isinstance(exc, TrialFailed) else repr(exc)
    await recover(world, dep, trial, outcomes)
    trial.calls = outcomes
    trial.errors = problems_in(dep.log_since(sizes))
    return trial


# ---------------------------------------------------------------------------------------- report
def hear_cell(trial: Trial) -> str:
    cells = []
    for o in trial.calls:
        if not o.hit:
            continue
        mark = ("*" if o.live.target else "") + ("†" if o.gated else "")
        if o.live.scenario == "transfer":
            cells.append(f"T{mark} {fmt(o.hear_s)}" if o.hear_s is not None else f"T{mark} never")
        elif o.hear_s is None:
            cells.append(f"never{mark}" if not is_over_early(o) else f"ended{mark}")
        else:
            cells.append(f"{o.hear_s:.1f}{mark}")
    return ", ".join(cells) or "-"


def is_over_early(o: CallOutcome) -> bool:
    return o.ended > 0 and o.hear_s is None and o.live.call.first_ai_audio_after(o.ref) is None


def affected(o: CallOutcome) -> bool:
    """Whether the fault, or the rebalance after it, moved the call to another worker."""
    return o.hit or o.moved


def samples(trials: Iterable[Trial]) -> list[float]:
    return [o.hear_s for t in trials for o in t.calls if o.hit and o.hear_s is not None]


def report(trials: list[Trial], partitions: int, log_dir: Path) -> str:
    head = (
        "| # | fault | moment | calls hit/live | session reopened s | hears AI again s | "
        "moved at rejoin: hears again s | caller turns lost/doubled | replies heard, not on log | "
        "stale audio | seq gaps | seq dups | call.ended per call | sessions left open | notes |"
    )
    rows = [head, "|" + "---|" * 15]
    for t in trials:
        calls = t.calls
        hit = [o for o in calls if o.hit]
        reopened_cell = ", ".join(fmt(o.reopened_s) for o in hit) or "-"
        rejoin = ", ".join(fmt(o.rejoin_s) for o in calls if o.moved) or "-"
        notes = list(t.notes)
        if t.failed:
            notes.insert(0, f"**trial failed: {t.failed}**")
        own = [e for e in t.errors if " ERROR phony." in e]
        if own:
            notes.append(f"**{len(own)} kinds of phony ERROR lines in the logs**")
        rows.append(
            f"| {t.number} | {t.fault} | {t.moment} | {len(hit)}/{len(calls)} | {reopened_cell} | "
            f"{hear_cell(t)} | {rejoin} | {sum(o.turns_lost for o in calls if affected(o))}/"
            f"{sum(o.turns_doubled for o in calls if affected(o))} | {sum(o.unrecorded for o in calls)} | "
            f"{sum(o.stale for o in calls)} | {sum(o.gaps for o in calls)} | {sum(o.dups for o in calls)} | "
            f"{', '.join(str(o.ended) for o in calls) or '-'} | {sum(o.open_sessions for o in calls)} | "
            f"{'; '.join(notes)} |"
        )
    every = [o for t in trials for o in t.calls]
    heard = samples(trials)
    never = sum(1 for o in every if o.hit and o.hear_s is None and not is_over_early(o))
    rejoins = [o.rejoin_s for o in every if o.rejoin_s is not None]
    bad_ends = sum(1 for o in every if o.ended != 1)
    rows.append(
        f"| **all** | {len(trials)} trials | p50 / p99 | {sum(o.hit for o in every)}/{len(every)} | - | "
        f"**{fmt(percentile(heard, 0.5))} / {fmt(percentile(heard, 0.99))}** ({never} never) | "
        f"{fmt(percentile(rejoins, 0.5))} / {fmt(percentile(rejoins, 0.99))} | "
        f"{sum(o.turns_lost for o in every if affected(o))}/"
        f"{sum(o.turns_doubled for o in every if affected(o))} (calls not moved: "
        f"{sum(o.turns_lost for o in every if not affected(o))}/"
        f"{sum(o.turns_doubled for o in every if not affected(o))}) | "
        f"{sum(o.unrecorded for o in every)} | {sum(o.stale for o in every)} | "
        f"{sum(o.gaps for o in every)} | {sum(o.dups for o in every)} | {bad_ends} calls ≠ 1 | "
        f"{sum(o.open_sessions for o in every)} | {sum(1 for t in trials if t.failed)} failed trials |"
    )
    by_fault = [
        "",
        "| fault | calls hit | hears AI again p50 s | p99 s | max s | never |",
        "|---|---|---|---|---|---|",
    ]
    for fault in ("kill", "pause", "broker", "redis"):
        group = [t for t in trials if t.fault == fault]
        if not group:
            continue
        xs = samples(group)
        hits = [o for t in group for o in t.calls if o.hit]
        missing = sum(1 for o in hits if o.hear_s is None and not is_over_early(o))
        by_fault.append(
            f"| {fault} | {len(hits)} | {fmt(percentile(xs, 0.5))} | {fmt(percentile(xs, 0.99))} | "
            f"{fmt(max(xs, default=None))} | {missing} |"
        )
    timeout = Settings(_env_file=None).worker_session_timeout_ms
    legend = f"""
PHONY_PARTITIONS={partitions}, worker session timeout {timeout} ms (the default); a paused worker is
continued, a killed one replaced, {PAUSE_S:.0f} s after the fault; Redis is stopped {REDIS_PAUSE_S:.0f} s.
Times in seconds from the fault, one per call on the faulted worker (* the target call; † counted from
the supervisor's approval or answer, sent 1.5 s after another worker reopened the call's model session;
T: until ``call.transferred``). "session reopened": a model session of the call opened after the fault.
"moved at rejoin": calls the rebalance gave to the returning worker, from the survivor's new
assignment. Caller turns, of the calls that moved: lines the caller began {CUT_S:.0f} s or more before
the end with no caller ``speech.detected`` on the log before its next line (lost), or more than one
(doubled); the calls that did not move show what the simulators alone do. "replies heard,
not on log": replies the caller got audio of (their marks), begun before the end, with no
``ai.response``, ``response.interrupted`` or ``response.pending_approval``. "stale audio": marks of the
faulted owner's model sessions that reached a caller more than 1 s after the fault. Gaps and duplicates
of ``seq`` (and of event ids) in the events topic read back, committed records only. Sessions left
open: {SESSION_GRACE_S:.0f} s after the last ``call.ended``. Logs: {log_dir}"""
    return "\n".join(rows + by_fault) + "\n" + legend


def excerpts(trials: list[Trial], limit: int = 6) -> str:
    out = []
    for t in trials:
        if t.errors:
            # Phony's own first: the client libraries' complaints about a server that is away are expected.
            ordered = sorted(t.errors, key=lambda e: " ERROR phony." not in e)
            out.append(f"trial {t.number} ({t.fault}, {t.moment}): {len(t.errors)} kinds of ERROR lines:")
            out += ["  " + e for e in ordered[:limit]]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------- main
def plan(trials: int) -> list[tuple[str, Literal["kill", "pause"], int]]:
    """Every moment under both faults once in ten trials, with 2, 3, 4 calls in turn."""
    out: list[tuple[str, Literal["kill", "pause"], int]] = []
    for i in range(trials):
        fault: Literal["kill", "pause"] = "kill" if ((i % 5) + i // 5) % 2 == 0 else "pause"
        out.append((MOMENTS[i % 5], fault, 2 + i % 3))
    return out


def progress(trial: Trial) -> None:
    hit = [o for o in trial.calls if o.hit]
    state = f"FAILED: {trial.failed}" if trial.failed else f"hears again {hear_cell(trial)}"
    calls = f"{len(hit)}/{len(trial.calls)} calls hit"
    print(
        f"trial {trial.number}: {trial.fault} at {trial.moment}, {calls}: {state}",
        file=sys.stderr,
        flush=True,
    )


async def main(args: argparse.Namespace) -> None:
    # This process's own Kafka clients (the log tail) retry through a broker restart: quietly.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix="phony-failover-"))
    print(f"logs in {log_dir}", file=sys.stderr, flush=True)
    services = [str(ROOT / "scripts" / "services.sh"), "up"]
    await asyncio.to_thread(subprocess.run, services, check=True, timeout=600)
    defaults = Settings(_env_file=None)
    shared = Servers(defaults.kafka_bootstrap, defaults.mongodb_url, defaults.redis_url)
    trials: list[Trial] = []
    try:
        async with contextlib.AsyncExitStack() as stack:
            twilio = await stack.enter_async_context(TwilioSim(timings=TIMINGS))
            model = await stack.enter_async_context(RealtimeSim(scenario_lookup=twilio.scenario_of_caller))
            world = World(twilio, model, Clock(twilio, model))
            stack.push_async_callback(cancel, asyncio.create_task(world.clock.run(), name="clock"))
            sims = SimEnv(
                twilio_account_sid=twilio.account_sid,
                twilio_auth_token=twilio.auth_token,
                twilio_api_base=twilio.base_url,
                openai_api_key=model.api_key,
                openai_base_url=model.base_url,
                openai_websocket_base_url=model.websocket_base_url,
            )
            if args.trials:
                dep = Deployment("shared", shared, sims, args.partitions, log_dir / "shared")
                async with contextlib.AsyncExitStack() as own:
                    await dep.start(own)
                    print(f"deployment up: namespace {dep.namespace}", file=sys.stderr, flush=True)
                    for i, (moment, fault, calls) in enumerate(plan(args.trials), start=1):
                        trials.append(await worker_trial(world, dep, i, moment, fault, calls))
                        progress(trials[-1])
            if args.infra:
                kafka_dir = Path(tempfile.mkdtemp(prefix="phony-failover-kafka-"))
                stack.callback(lambda: subprocess.run(["rm", "-rf", str(kafka_dir)], check=False))
                kafka, redis = PrivateKafka(kafka_dir), OwnRedis()
                own_servers = Servers(kafka.bootstrap, shared.mongodb, redis.url)
                dep = Deployment(
                    "private", own_servers, sims, args.partitions, log_dir / "private", kafka, redis
                )
                async with contextlib.AsyncExitStack() as own:
                    own.callback(save_broker_log, kafka, log_dir / "private")
                    await dep.start(own)
                    print(f"private deployment up: namespace {dep.namespace}", file=sys.stderr, flush=True)
                    outages: tuple[Literal["broker", "redis"], ...] = ("broker", "redis")
                    for outage in outages:
                        trials.append(await infra_trial(world, dep, len(trials) + 1, outage))
                        progress(trials[-1])
    finally:
        if trials:
            dump = [
                {
                    "trial": t.number,
                    "fault": t.fault,
                    "moment": t.moment,
                    "failed": t.failed,
                    "notes": t.notes,
                    "errors": t.errors,
                    "calls": [o.detail for o in t.calls],
                }
                for t in trials
            ]
            (log_dir / "failover-details.json").write_text(json.dumps(dump, indent=1, default=str))
            print(report(trials, args.partitions, log_dir))
            found = excerpts(trials)
            if found:
                print("\nERROR lines in the Phony logs:\n" + found)


async def run(args: argparse.Namespace) -> None:
    """``main``, ended by SIGTERM as by Ctrl-C: through every cleanup on the way out."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    await main(args)


def save_broker_log(kafka: PrivateKafka, into: Path) -> None:
    with contextlib.suppress(OSError):
        (into / "private-kafka.log").write_text(kafka.tail(400))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=20, help="worker trials (kill or pause the owner)")
    parser.add_argument("--partitions", type=int, default=4, choices=(4, 8))
    parser.add_argument(
        "--no-infra", dest="infra", action="store_false", help="skip the broker and Redis trials"
    )
    parser.add_argument("--log-dir", help="where the processes' logs go (default: a new temporary directory)")
    with (
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
        contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError),
    ):
        runner.run(run(parser.parse_args()))
