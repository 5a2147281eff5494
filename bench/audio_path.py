"""Audio path latency and CPU: Phony against a one-process ws<->ws proxy, side by side in one run.

For each level of concurrent calls, simulated callers (the Twilio sim, ``hold`` scenario) ring first
Phony and then a baseline built like Twilio's realtime sample (one process answers the TwiML webhook
with ``<Connect><Stream>`` and, per media socket, opens a WebSocket to the model and forwards μ-law
both ways unchanged). Both talk to the same fake OpenAI Realtime server. It measures:

- caller frame -> model: the party sends a media frame -> the model receives it in
  ``input_audio_buffer.append`` (frames matched per call by position, checked by content; an append
  of several frames counts for each);
- model audio -> caller: the model sends an audio delta -> the party receives its first frame
  (matched per call in order, by the delta's first 160 bytes);
- CPU per call: CPU seconds of the ``phony serve`` (or proxy) process over the window, per call-second;
- supervisor text: just before ``POST /override/text`` -> the model receives the ``response.create``
  carrying the text (Phony only: the baseline has no supervisor), sent on a lean keep-alive HTTP/1.1
  connection so that the figure is Phony's, not the HTTP client library's.

Run with the services up (``scripts/services.sh up``):
    .venv/bin/python bench/audio_path.py [--calls 1,50,200] [--seconds 10] [--overrides 50] [--repeat 1]

Everything runs on one machine: the sims share this process, so its event-loop lag (printed) bounds
how far their timestamps can be late; it hits Phony and the baseline alike. The sims cost about half
a core per 50 calls here (pure-Python VAD and JSON per frame), so on a 2-core machine the harness
itself saturates before 200 calls: read the trust table before the figures. Each level gets a fresh
``phony serve`` (fresh namespace), so a level Phony fell behind on leaves no backlog for the next.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import re
import statistics
import sys
import time
import uuid
from array import array
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import h11
import httpx
import uvicorn
import uvloop
from fastapi import FastAPI, Request, Response, WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import phony.sim.twilio.party as sim_party  # noqa: E402
from bench.support import bench_tenant, servers_from_env  # noqa: E402
from phony.sim import audio as sim_audio  # noqa: E402
from phony.sim.realtime import RealtimeObservation, RealtimeSim  # noqa: E402
from phony.sim.scenarios import parse_call_metadata  # noqa: E402
from phony.sim.twilio import MEDIA_SENT, SimCall, TwilioSim  # noqa: E402
from tests.support import (  # noqa: E402
    PhonyProcess,
    Servers,
    SimEnv,
    agent_body,
    drop_namespace,
    free_port,
    phony_env,
    unique_number,
)

FRAME_BYTES = 160
SILENCE = b"\xff" * FRAME_BYTES
GREETING = "Hello! How can I help you today?"
OVERRIDE_TOKEN = re.compile(r"bench-override-([0-9a-f]{12})")
ROLES = {"serve": ["serve"], "split": ["worker", "projector", "edge"]}  # the edge last: its URL is rung
IDLE_S = 3.0  # the serving process's CPU with no calls is measured this long before each level
GRACE_S = 2.0  # after the window, before matching: frames sent late in it may still be on their way
Stamped = list[tuple[float, bytes]]


# ---------------------------------------------------------------------------- the baseline proxy


def proxy_app(model_ws: str, api_key: str, public_ws: str) -> FastAPI:
    """Twilio's realtime sample, re-done: TwiML webhook + one media socket <-> one model socket."""
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/incoming-call")
    async def incoming_call(request: Request) -> Response:
        caller = str((await request.form()).get("From", ""))
        twiml = (
            '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
            f'<Stream url="{public_ws}/media-stream"><Parameter name="from" value={quoteattr(caller)}/>'
            "</Stream></Connect></Response>"
        )
        return Response(twiml, media_type="application/xml")

    @app.websocket("/media-stream")
    async def media_stream(ws: WebSocket) -> None:
        await ws.accept()
        headers = {"Authorization": f"Bearer {api_key}"}
        async with connect(
            f"{model_ws}/realtime?model=gpt-realtime", additional_headers=headers, max_size=None
        ) as model:
            stream_sid: str | None = None
            latest_ms = 0
            item_id: str | None = None
            response_start_ms: int | None = None
            marks: deque[str] = deque()

            async def from_twilio() -> None:
                nonlocal stream_sid, latest_ms
                try:
                    async for text in ws.iter_text():
                        data = json.loads(text)
                        event = data["event"]
                        if event == "media":
                            latest_ms = int(data["media"]["timestamp"])
                            append = {"type": "input_audio_buffer.append", "audio": data["media"]["payload"]}
                            await model.send(json.dumps(append))
                        elif event == "start":
                            stream_sid = data["start"]["streamSid"]
                            caller = data["start"]["customParameters"].get("from", "")
                            await model.send(json.dumps(session_update(caller)))
                            create = {"response": {"instructions": f"Say exactly: «{GREETING}»"}}
                            await model.send(json.dumps({"type": "response.create", **create}))
                        elif event == "mark" and marks:
                            marks.popleft()
                        elif event == "stop":
                            break
                except WebSocketDisconnect:
                    pass
                await model.close()

            async def to_twilio() -> None:
                nonlocal item_id, response_start_ms
                async for text in model:
                    event = json.loads(text)
                    kind = event["type"]
                    if kind == "response.output_audio.delta":
                        media = {
                            "event": "media",
                            "streamSid": stream_sid,
                            "media": {"payload": event["delta"]},
                        }
                        await ws.send_text(json.dumps(media))
                        if event.get("item_id") != item_id:  # a new answer starts playing now
                            item_id, response_start_ms = event.get("item_id"), latest_ms
                        mark = {"event": "mark", "streamSid": stream_sid, "mark": {"name": "responsePart"}}
                        await ws.send_text(json.dumps(mark))
                        marks.append("responsePart")
                    elif (
                        kind == "input_audio_buffer.speech_started"
                        and marks
                        and response_start_ms is not None
                        and item_id
                    ):
                        truncate = {
                            "type": "conversation.item.truncate",
                            "item_id": item_id,
                            "content_index": 0,
                            "audio_end_ms": max(0, latest_ms - response_start_ms),
                        }
                        await model.send(json.dumps(truncate))
                        await ws.send_text(json.dumps({"event": "clear", "streamSid": stream_sid}))
                        marks.clear()
                        item_id = response_start_ms = None

            with contextlib.suppress(Exception):
                await asyncio.gather(from_twilio(), to_twilio())

    return app


def session_update(caller: str) -> dict[str, Any]:
    """What the sample sends: μ-law in and out, server VAD; plus the caller in the instructions' call
    metadata, so the fake model follows that caller's script (as it does for Phony's sessions)."""
    instructions = f"You are a helpful assistant.\n\nCall metadata:\n- from: {caller}\n- scenario: hold"
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "model": "gpt-realtime",
            "instructions": instructions,
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": {"type": "audio/pcmu"},
                    "turn_detection": {"type": "server_vad", "silence_duration_ms": 300},
                },
                "output": {"format": {"type": "audio/pcmu"}, "voice": "alloy"},
            },
        },
    }


def serve_proxy(port: int, model_ws: str, api_key: str) -> None:
    """``--serve-proxy``: run the baseline in this process until killed (uvicorn as Phony runs it)."""
    app = proxy_app(model_ws, api_key, f"ws://127.0.0.1:{port}")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio")


# ---------------------------------------------------------------------------- measuring


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def service_pids() -> list[int]:
    """Kafka, FerretDB and Redis as ``scripts/services.sh`` started them (none if started elsewhere)."""
    pids = []
    for pid_file in (ROOT / ".services" / "run").glob("*.pid"):
        with contextlib.suppress(ValueError, OSError):
            pid = int(pid_file.read_text().strip())
            if Path(f"/proc/{pid}/stat").exists():
                pids.append(pid)
    return pids


def pct(samples: Sequence[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Recorder:
    """What the sims' observers report; the hooks are on the sims' hot paths, so they only append."""

    sent: defaultdict[str, Stamped] = field(default_factory=lambda: defaultdict(list))
    received: defaultdict[str, Stamped] = field(default_factory=lambda: defaultdict(list))
    appends: defaultdict[str, Stamped] = field(default_factory=lambda: defaultdict(list))
    deltas: defaultdict[str, Stamped] = field(default_factory=lambda: defaultdict(list))
    overrides: dict[str, asyncio.Future[float]] = field(default_factory=dict)

    def reset(self) -> None:
        for stamped in (self.sent, self.received, self.appends, self.deltas):
            stamped.clear()
        self.overrides.clear()

    def on_media(self, call_sid: str, kind: str, at: float, payload: bytes) -> None:
        (self.sent if kind == MEDIA_SENT else self.received)[call_sid].append((at, payload))

    def on_model(self, seen: RealtimeObservation) -> None:
        if seen.kind == "input_audio_buffer.append":
            # An append may carry several frames (Phony joins the frames that waited together).
            audio, appends = seen.payload or b"", self.appends[seen.session_id]
            for i in range(0, len(audio), FRAME_BYTES):
                appends.append((seen.at_monotonic, audio[i : i + FRAME_BYTES]))
        elif seen.kind == "response.output_audio.delta":
            self.deltas[seen.session_id].append((seen.at_monotonic, seen.payload or b""))
        elif seen.kind == "response.create" and seen.detail:
            match = OVERRIDE_TOKEN.search(seen.detail)
            waiter = self.overrides.get(match.group(1)) if match else None
            if waiter is not None and not waiter.done():
                waiter.set_result(seen.at_monotonic)


def align(sent: list[bytes], got: list[bytes]) -> int | None:
    """Index of the sent frame the model's first append is: the model gets a suffix of what the
    party sent (frames before the session opened are dropped). Found by searching the first appends,
    up to some speech, in the sent sequence (frames as symbols); None without speech to anchor on."""
    first_speech = next((i for i, frame in enumerate(got) if frame != SILENCE), None)
    if first_speech is None:
        return None
    symbols: dict[bytes, int] = {}
    sent_codes = array("I", (symbols.setdefault(f, len(symbols)) for f in sent)).tobytes()
    pattern = array("I", (symbols.setdefault(f, len(symbols)) for f in got[: first_speech + 60])).tobytes()
    pos = sent_codes.find(pattern)
    while pos > 0 and pos % 4:
        pos = sent_codes.find(pattern, pos + 1)
    return None if pos < 0 else pos // 4


class Supervisor:
    """A supervisor's keep-alive HTTP/1.1 connection to Phony's edge (h11, what httpx speaks through),
    so the override timing is Phony's and not the client library's: httpx alone costs about 1.7 ms
    per request even in a quiet process."""

    def __init__(self, base_url: str, key: str) -> None:
        url = httpx.URL(base_url)
        self._host, self._port = url.host, url.port or 80
        self._headers = [("Host", f"{url.host}:{self._port}"), ("Authorization", f"Bearer {key}")]
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._conn = h11.Connection(h11.CLIENT)

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._streams
        data = json.dumps(body).encode()
        headers = [*self._headers, ("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        writer.write(self._conn.send(h11.Request(method="POST", target=path, headers=headers)) or b"")
        writer.write(self._conn.send(h11.Data(data=data)) or b"")
        writer.write(self._conn.send(h11.EndOfMessage()) or b"")
        status, content = 0, b""
        while True:
            event = self._conn.next_event()
            if event is h11.NEED_DATA:
                self._conn.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                content += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._conn.start_next_cycle()
                return status, content

    async def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()


@dataclass
class Direction:
    """One direction's latencies (ms) and how many units were matched out of those in the window."""

    latencies: list[float] = field(default_factory=list)
    in_window: int = 0
    matched: int = 0
    mismatched: int = 0  # matched by position but different content (misalignment: not counted)


def caller_to_model(sent: Stamped, got: Stamped, t0: float, t1: float, out: Direction) -> None:
    """Per call: frame i of the appends is sent frame i + offset; count those sent in [t0, t1)."""
    out.in_window += sum(1 for t, _ in sent if t0 <= t < t1)
    offset = align([f for _, f in sent], [f for _, f in got])
    if offset is None:
        return
    for (t_got, frame), (t_sent, original) in zip(got, sent[offset:], strict=False):
        if not t0 <= t_sent < t1:
            continue
        if frame != original:
            out.mismatched += 1
            continue
        out.matched += 1
        out.latencies.append((t_got - t_sent) * 1000)


def model_to_caller(deltas: Stamped, received: Stamped, t0: float, t1: float, out: Direction) -> None:
    """Per call: walk deltas and received media in time order; a received message whose first 160
    bytes equal the oldest unmatched delta's is that delta's first frame (deltas play in order)."""
    out.in_window += sum(1 for t, _ in deltas if t0 <= t < t1)
    pending: deque[tuple[float, bytes]] = deque()
    events = sorted(
        [(t, 0, d[:FRAME_BYTES]) for t, d in deltas] + [(t, 1, r[:FRAME_BYTES]) for t, r in received]
    )
    for t, is_received, head in events:
        if not is_received:
            pending.append((t, head))
            continue
        for i, (t_sent, first) in enumerate(pending):
            if i > 8:
                break  # not the start of any recent delta: a later frame of one
            if first == head:
                for _ in range(i + 1):
                    pending.popleft()
                if t0 <= t_sent < t1:
                    out.matched += 1
                    out.latencies.append((t - t_sent) * 1000)
                break


@dataclass
class LevelResult:
    system: str
    calls: int
    live: int
    window_s: float
    cpu_s: float
    infra_cpu_s: float
    bench_cpu_s: float
    loop_lag_p99_ms: float
    inbound: Direction
    outbound: Direction
    live_at_end: int  # of ``live``, still on the line when the window closed
    ended_early: dict[str, int]  # calls over before the window closed, by the sim's end reason
    machine_busy_pct: float  # of all cores, everything on the machine (other users included)
    idle_ms_per_s: float  # CPU of the serving process with no calls, just before the level
    override_ms: list[float] = field(default_factory=list)
    override_http_ms: list[float] = field(default_factory=list)
    override_lost: int = 0

    def cpu_ms_per_call_s(self, seconds: float) -> float:
        if not self.live_at_end:
            return float("nan")  # no call on the line: nothing to divide by
        return seconds * 1000 / self.live_at_end / self.window_s


@contextlib.contextmanager
def loop_lag(samples: list[float], every_s: float = 0.005) -> Iterator[None]:
    """Sample this process's event-loop lag (how late a timer fires) while the block runs."""

    async def monitor() -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(every_s)
            samples.append((loop.time() - start - every_s) * 1000)

    task = asyncio.get_running_loop().create_task(monitor())
    try:
        yield
    finally:
        task.cancel()


# ---------------------------------------------------------------------------- one level


@dataclass
class Target:
    """A system under test: where the sim rings it and which process to charge CPU to."""

    name: str
    base_url: str
    path: str
    pids: tuple[int, ...]

    def cpu_seconds(self) -> float:
        return sum(map(cpu_seconds, self.pids))


@dataclass
class Bench:
    twilio: TwilioSim
    model: RealtimeSim
    recorder: Recorder
    seconds: float
    ramp_per_s: float

    def sessions_by_caller(self, first_session: int) -> dict[str, str]:
        out = {}
        for session in self.model.sessions[first_session:]:
            caller = parse_call_metadata(str(session.config.get("instructions", ""))).get("from")
            if caller:
                out[caller] = session.id
        return out

    async def run_level(
        self, target: Target, calls: int, number: str, http: httpx.AsyncClient | None, overrides: int
    ) -> LevelResult:
        """``calls`` concurrent calls to ``number`` on ``target``; ``overrides`` supervisor texts
        through ``http`` (Phony's API with the tenant's key) after the window."""
        rec = self.recorder
        rec.reset()
        idle0 = target.cpu_seconds()
        await asyncio.sleep(IDLE_S)
        idle_ms_per_s = (target.cpu_seconds() - idle0) * 1000 / IDLE_S
        first_session = len(self.model.sessions)
        placed: list[SimCall] = []
        for _ in range(calls):
            caller = unique_number()
            placed.append(
                await self.twilio.place_inbound_call(
                    caller, number, target.base_url, scenario="hold", path=target.path
                )
            )
            await asyncio.sleep(1 / self.ramp_per_s)
        # Live: the model has a session for the call and is receiving its audio.
        deadline = time.monotonic() + 30 + calls * 0.2
        while time.monotonic() < deadline:
            sessions = self.sessions_by_caller(first_session)
            if sum(1 for c in placed if rec.appends.get(sessions.get(c.from_, ""))) == calls:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.0)  # greetings under way, everyone in the steady hold loop
        services = service_pids()
        lag: list[float] = []
        with loop_lag(lag):
            machine0 = machine_ticks()
            cpu0, infra0, bench0 = (
                target.cpu_seconds(),
                sum(map(cpu_seconds, services)),
                time.process_time(),
            )
            t0 = time.monotonic()
            await asyncio.sleep(self.seconds)
            t1 = time.monotonic()
            cpu1, infra1, bench1 = (
                target.cpu_seconds(),
                sum(map(cpu_seconds, services)),
                time.process_time(),
            )
            machine1 = machine_ticks()
            on_line = {c.sid for c in placed if c.status == "in-progress"}
            ended = Counter(
                f"{c.end_reason or c.status}/{c.streams[-1].end_reason if c.streams else 'no-stream'}"
                for c in placed
                if c.sid not in on_line
            )
        await asyncio.sleep(GRACE_S)  # frames of the window still in flight may land
        sessions = self.sessions_by_caller(first_session)
        live = [c for c in placed if c.from_ in sessions]
        inbound, outbound = Direction(), Direction()
        for call in live:
            session = sessions[call.from_]
            caller_to_model(rec.sent[call.sid], rec.appends[session], t0, t1, inbound)
            model_to_caller(rec.deltas[session], rec.received[call.sid], t0, t1, outbound)
        result = LevelResult(
            target.name,
            calls,
            len(live),
            t1 - t0,
            cpu1 - cpu0,
            infra1 - infra0,
            bench1 - bench0,
            pct(lag, 0.99),
            inbound,
            outbound,
            sum(1 for c in live if c.sid in on_line),
            dict(ended),
            100 * (machine1[0] - machine0[0]) / max(1, machine1[1] - machine0[1]),
            idle_ms_per_s,
        )
        if overrides and http is not None:
            await self.supervise(http, live, overrides, result)
        await self.hang_up(placed, first_session)
        return result

    async def supervise(
        self, http: httpx.AsyncClient, live: list[SimCall], count: int, result: LevelResult
    ) -> None:
        """``POST /override/text`` one at a time, round robin over the calls still on the line, on a
        lean keep-alive connection (see :class:`Supervisor`) with ``http``'s base URL and key."""
        supervisor = Supervisor(str(http.base_url), http.headers["Authorization"].removeprefix("Bearer "))
        try:
            await self._supervise(supervisor, live, count, result)
        finally:
            await supervisor.close()

    async def _supervise(
        self, supervisor: Supervisor, live: list[SimCall], count: int, result: LevelResult
    ) -> None:
        loop = asyncio.get_running_loop()
        timeouts = 0
        for i in range(count):
            on_line = [c for c in live if c.status == "in-progress"]
            if not on_line:
                result.override_lost += count - i
                return
            call = on_line[i % len(on_line)]
            token = uuid.uuid4().hex[:12]
            waiter: asyncio.Future[float] = loop.create_future()
            self.recorder.overrides[token] = waiter
            body = {"callSid": call.sid, "text": f"A supervisor says hi, bench-override-{token}."}
            start = time.monotonic()
            status, content = await supervisor.post("/override/text", body)
            result.override_http_ms.append((time.monotonic() - start) * 1000)
            if status != 200:
                print(f"  override refused: {status} {content[:200]!r}", file=sys.stderr)
                result.override_lost += 1
                continue
            try:
                seen = await asyncio.wait_for(waiter, 5)
            except TimeoutError:
                result.override_lost += 1
                timeouts += 1
                if timeouts == 3:  # the system is not keeping up: don't spend minutes on it
                    result.override_lost += count - i - 1
                    return
                continue
            timeouts = 0
            result.override_ms.append((seen - start) * 1000)
            await asyncio.sleep(0.05)

    async def hang_up(self, placed: list[SimCall], first_session: int) -> None:
        for call in placed:
            if call.ended.is_set():
                continue
            with contextlib.suppress(KeyError, RuntimeError):
                self.twilio.hang_up(call.sid)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                await asyncio.gather(*(c.ended.wait() for c in placed))
        # Let the system close its model sessions before the next level starts.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                for _ in range(150):
                    if all(s.closed for s in self.model.sessions[first_session:]):
                        break
                    await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)


# ---------------------------------------------------------------------------- set-up and report


async def settle(pids: list[int], quiet_s: float = 0.1, within_s: float = 120) -> float:
    """Wait until the systems under test are idle (a system that fell behind may still be working
    through its backlog, which would steal CPU from the next run); returns the time waited."""
    start = time.monotonic()
    while time.monotonic() - start < within_s:
        before = sum(map(cpu_seconds, pids))
        await asyncio.sleep(1.0)
        if sum(map(cpu_seconds, pids)) - before < quiet_s:
            break
    return time.monotonic() - start


def cache_party_speech() -> None:
    """The simulated caller synthesises each line in pure Python on the event loop, uncached (tens of
    ms per line), which stalls the sims' clock for every call at once under load; the audio depends
    only on its arguments, so cache it (the fake model already caches its speech)."""
    vars(sim_party)["speech"] = functools.lru_cache(maxsize=64)(sim_audio.speech)  # what party.py calls


async def start_proxy(model: RealtimeSim) -> tuple[asyncio.subprocess.Process, int]:
    port = free_port()
    args = [sys.executable, __file__, "--serve-proxy", str(port), "--model-ws", model.websocket_base_url]
    proc = await asyncio.create_subprocess_exec(*args, "--model-key", model.api_key, cwd=ROOT)
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(150):
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return proc, port
            if proc.returncode is not None:
                break
            await asyncio.sleep(0.1)
    proc.kill()
    await proc.wait()
    raise RuntimeError("the baseline proxy did not start")


async def setup_phony(http: httpx.AsyncClient, number: str) -> str:
    """A tenant with high limits, a key and one agent answering ``number``; returns the key."""
    key = (await bench_tenant(http, "audio-bench")).key
    agent = agent_body(phone_numbers=[number], greeting_message=GREETING)
    r = await http.post("/agents/", json=agent, headers={"Authorization": f"Bearer {key}"})
    r.raise_for_status()
    return key


def fmt(value: float, width: int = 8) -> str:
    return f"{value:>{width}.1f}" if value == value else f"{'-':>{width}}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:>7.1f}x" if b > 0 and a == a and b == b else f"{'-':>8}"


def report(results: list[tuple[LevelResult, LevelResult]], elapsed: float) -> None:
    print()
    print("Audio path, ms (p50/p99 per direction) and CPU ms per call-second of the serving process")
    head = f"{'in-p50':>8}{'in-p99':>8}{'out-p50':>8}{'out-p99':>8}{'cpu':>7}"
    print(f"{'level':>5}{'on':>8} | {'Phony':^39} | {'proxy':^39} | {'ratio Phony/proxy':^32}")
    print(f"{'':>13} | {head} | {head} |{'in-p99':>8}{'out-p99':>8}{'cpu':>8}{'cpu+infra':>10}")
    for ours, base in results:
        cells = []
        for r in (ours, base):
            cpu = r.cpu_ms_per_call_s(r.cpu_s)
            i, o = r.inbound.latencies, r.outbound.latencies
            cells.append(
                f"{fmt(pct(i, 0.5))}{fmt(pct(i, 0.99))}{fmt(pct(o, 0.5))}{fmt(pct(o, 0.99))}{fmt(cpu, 7)}"
            )
        ours_cpu, base_cpu = ours.cpu_ms_per_call_s(ours.cpu_s), base.cpu_ms_per_call_s(base.cpu_s)
        ours_all = ours.cpu_ms_per_call_s(ours.cpu_s + ours.infra_cpu_s)
        print(
            f"{ours.calls:>5}{f'{ours.live_at_end}/{base.live_at_end}':>8} | {cells[0]} | {cells[1]} |"
            f"{ratio(pct(ours.inbound.latencies, 0.99), pct(base.inbound.latencies, 0.99))}"
            f"{ratio(pct(ours.outbound.latencies, 0.99), pct(base.outbound.latencies, 0.99))}"
            f"{ratio(ours_cpu, base_cpu)}{ratio(ours_all, base_cpu):>10}"
        )
    print()
    print("Trust: 'on' = calls on the line when the window closed (of those the model served); frames")
    print("and deltas matched of those sent in the window ('bad': matched by position, content differs);")
    print("cpu = the serving process over the window, idle = the same with no calls (ms per second);")
    print("infra = Kafka+FerretDB+Redis CPU per call-second; sim = this process (both sims); lag = p99")
    print("event-loop lag of this process (how late the sims' timestamps can be); busy = the whole")
    print("machine's CPU, other users' work included")
    print(
        f"{'system':>7}{'level':>6}{'on':>5}{'window':>7}{'in matched/sent':>18}{'bad':>5}"
        f"{'out matched/sent':>18}{'cpu ms/s':>9}{'idle':>6}{'infra ms/c-s':>13}{'sim cpu%':>9}{'lag p99':>8}"
        f"{'busy%':>7}  ended early"
    )
    for pair in results:
        for r in pair:
            print(
                f"{r.system:>7}{r.calls:>6}{r.live_at_end:>5}{r.window_s:>6.1f}s"
                f"{r.inbound.matched:>10}/{r.inbound.in_window:<7}{r.inbound.mismatched:>5}"
                f"{r.outbound.matched:>10}/{r.outbound.in_window:<7}"
                f"{fmt(r.cpu_s * 1000 / r.window_s, 9)}{fmt(r.idle_ms_per_s, 6)}"
                f"{fmt(r.cpu_ms_per_call_s(r.infra_cpu_s), 13)}"
                f"{fmt(100 * r.bench_cpu_s / r.window_s, 9)}{fmt(r.loop_lag_p99_ms)}"
                f"{fmt(r.machine_busy_pct, 7)}  {r.ended_early or ''}"
            )
    print()
    print("Supervisor text (Phony): POST /override/text -> the model receives the response.create")
    print(f"{'level':>5}{'n':>5}{'lost':>5}{'p50':>8}{'p99':>8}{'max':>8}{'HTTP p50':>10}{'HTTP p99':>10}")
    for ours, _ in results:
        o, h = ours.override_ms, ours.override_http_ms
        if not h:
            print(f"{ours.calls:>5}{0:>5}{ours.override_lost:>5}  (no call was on the line to override)")
        else:
            print(
                f"{ours.calls:>5}{len(o):>5}{ours.override_lost:>5}{fmt(pct(o, 0.5))}{fmt(pct(o, 0.99))}"
                f"{fmt(max(o) if o else float('nan'))}{fmt(pct(h, 0.5), 10)}{fmt(pct(h, 0.99), 10)}"
            )
    top, _ = results[-1]
    base_top = results[-1][1]
    print()
    print(
        f"Targets at {top.calls} calls: in p99 {fmt(pct(top.inbound.latencies, 0.99), 0)} ms (<= 20), "
        f"out p99 {fmt(pct(top.outbound.latencies, 0.99), 0)} ms (<= 20), CPU/call "
        f"{ratio(top.cpu_ms_per_call_s(top.cpu_s), base_top.cpu_ms_per_call_s(base_top.cpu_s)).strip()} "
        f"the proxy's (<= 2x), override p99 {fmt(pct(top.override_ms, 0.99), 0)} ms (<= 25). "
        f"Mean in/out: {statistics.fmean(top.inbound.latencies or [float('nan')]):.1f}/"
        f"{statistics.fmean(top.outbound.latencies or [float('nan')]):.1f} ms. Run took {elapsed:.0f} s."
    )


@contextlib.asynccontextmanager
async def fresh_phony(
    servers: Servers, sims: SimEnv, log_dir: Path, deploy: str
) -> AsyncIterator[tuple[Target, httpx.AsyncClient, str, list[Path]]]:
    """Phony in a fresh namespace with a tenant (high limits), a key and one agent; yields its target,
    a client with the key, the agent's number and the logs. ``deploy`` is ``serve`` (one process with
    every part) or ``split`` (``phony edge``, ``phony worker`` and ``phony projector``, CPU summed). A
    fresh one per level, so a level that Phony could not keep up with leaves no backlog behind to eat
    the next run's CPU."""
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    env = phony_env(
        servers, namespace, sims, PHONY_LOG_LEVEL="WARNING", PHONY_RATE_WEBHOOKS_PER_MIN="1000000"
    )
    processes = [PhonyProcess(role, env) for role in ROLES[deploy]]
    try:
        for process in processes:
            process.start(log_dir)
        edge = processes[-1]
        await edge.ready()
        pids = tuple(p.proc.pid for p in processes if p.proc is not None)
        number = unique_number()
        async with httpx.AsyncClient(base_url=edge.url, timeout=30) as http:
            key = await setup_phony(http, number)
            http.headers["Authorization"] = f"Bearer {key}"
            logs = [p.log_path for p in processes if p.log_path is not None]
            yield Target("phony", edge.url, "/receive_call", pids), http, number, logs
    finally:
        for process in processes:
            process.stop()
        await drop_namespace(servers, namespace)


async def main(levels: list[int], seconds: float, overrides: int, ramp_per_s: float, deploy: str) -> None:
    started = time.monotonic()
    servers = servers_from_env()
    recorder = Recorder()
    cache_party_speech()
    log_dir = ROOT / ".services" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    results: list[tuple[LevelResult, LevelResult]] = []
    logs: list[Path] = []
    async with (
        TwilioSim(observer=recorder.on_media) as twilio,
        RealtimeSim(observer=recorder.on_model, scenario_lookup=twilio.scenario_of_caller) as model,
    ):
        sims = SimEnv(
            twilio_account_sid=twilio.account_sid,
            twilio_auth_token=twilio.auth_token,
            twilio_api_base=twilio.base_url,
            openai_api_key=model.api_key,
            openai_base_url=model.base_url,
            openai_websocket_base_url=model.websocket_base_url,
        )
        bench = Bench(twilio, model, recorder, seconds, ramp_per_s)
        proxy, proxy_port = await start_proxy(model)
        base = Target("proxy", f"http://127.0.0.1:{proxy_port}", "/incoming-call", (proxy.pid,))
        try:
            for calls in levels:
                async with fresh_phony(servers, sims, log_dir, deploy) as (ours, http, number, paths):
                    logs += paths
                    waited = await settle([*ours.pids, *base.pids])
                    print(f"level {calls}: Phony (settled {waited:.0f} s) ...", file=sys.stderr, flush=True)
                    phony_result = await bench.run_level(ours, calls, number, http, overrides)
                waited = await settle(list(base.pids))
                print(f"level {calls}: proxy (settled {waited:.0f} s) ...", file=sys.stderr, flush=True)
                results.append((phony_result, await bench.run_level(base, calls, number, None, 0)))
        finally:
            proxy.terminate()
            await proxy.wait()
    if twilio.task_errors:
        print(f"(Twilio sim task errors: {twilio.task_errors[:3]})", file=sys.stderr)
    report(results, time.monotonic() - started)
    print(f"(Phony as {deploy}: {' + '.join(ROLES[deploy])}; logs: {', '.join(str(p) for p in logs)})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", default="1,50,200", help="comma-separated concurrent call levels")
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement window per level")
    parser.add_argument("--overrides", type=int, default=50, help="supervisor texts per level (Phony)")
    parser.add_argument("--ramp", type=float, default=40.0, help="calls placed per second")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each level this many times, a row each (runs of the same code spread widely here)",
    )
    parser.add_argument(
        "--deploy",
        choices=("serve", "split"),
        default="serve",
        help="Phony as one `phony serve` process, or as edge, worker and projector processes",
    )
    parser.add_argument("--serve-proxy", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--model-ws", help=argparse.SUPPRESS)
    parser.add_argument("--model-key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_proxy:
        serve_proxy(args.serve_proxy, args.model_ws, args.model_key)
    else:
        levels = [int(n) for n in args.calls.split(",") if n.strip() for _ in range(max(1, args.repeat))]
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main(levels, args.seconds, args.overrides, args.ramp, args.deploy))
