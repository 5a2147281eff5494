"""Soak: many simulated calls on the line for minutes; memory of each process, and the log, checked.

A split deployment (1 edge, ``--workers`` workers, 1 projector, each a ``phony <role>`` process) runs
in a namespace of its own on the project's servers, with the simulators (fake Twilio with its
callers, fake OpenAI Realtime) in this process. ``--calls`` simulated callers (``hold`` scenario: the
caller keeps talking, the fake model keeps answering) ring the edge; once they are all on the line
the window of ``--minutes`` starts. A call that ends before the window is over is noted (with the
reason the simulator and the log give) and replaced by a new one, so that ``--calls`` stay on the
line. Every 10 s the RSS of each process (``VmRSS`` of ``/proc/<pid>/status``) is sampled; warm-up
is the first 2 minutes of the window (20 % of it for a short run).

At the end every call is ended by its supervisor (``POST /override/end`` with the tenant's key), and
the Kafka log itself is read (``read_log``, committed records only). Checks, each failing the run
(exit status 1):

- memory: RSS at the end of the window is under 10 % above RSS after warm-up, for every process;
- no event lost: each call's ``seq`` runs 1, 2, ... with no gap and no duplicate, one tenant;
- every call ends once: exactly one ``call.ended`` per call placed;
- every call ended by the supervisor ends (the simulated Twilio saw it hang up within 60 s).

Run with the services up (``scripts/services.sh up``; ``make soak`` does both):
    .venv/bin/python bench/soak.py [--calls 30] [--minutes 10] [--workers 2] [--partitions 4]

The processes' logs stay in the printed directory. On the way out (also on Ctrl-C, SIGTERM or an
error) every process this run started is stopped, and the namespace (topics, consumer groups,
database, Redis keys) is deleted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.audio_path import GREETING, cache_party_speech, cpu_seconds, machine_ticks  # noqa: E402
from bench.support import bench_tenant, drop_all_of, servers_from_env  # noqa: E402
from phony.config import Settings  # noqa: E402
from phony.events import EventEnvelope  # noqa: E402
from phony.events.log import read_log  # noqa: E402
from phony.sim.realtime import RealtimeSim  # noqa: E402
from phony.sim.twilio import SimCall, TwilioSim  # noqa: E402
from tests.deployment import owned_partitions  # noqa: E402
from tests.support import (  # noqa: E402
    PhonyProcess,
    Servers,
    SimEnv,
    agent_body,
    namespace_settings,
    phony_env,
    unique_number,
)

SAMPLE_S = 10.0
WARMUP_S = 120.0
WARMUP_SHARE = 0.2
GROWTH_LIMIT_PCT = 10.0
RAMP_PER_S = 5.0  # calls placed per second
ON_LINE_WITHIN_S = 60.0  # a call not on the line this long after it was placed counts as failed
END_WITHIN_S = 60.0  # after /override/end, how long the calls may take to end (sim and log)
LIVE = ("queued", "ringing", "in-progress")


def now() -> float:
    return time.monotonic()


def rss_kb(pid: int) -> int | None:
    """Resident set size of a process in KiB (``VmRSS``), None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def on_line(call: SimCall) -> bool:
    """The caller is talking to the app: the call is answered and its media stream is open."""
    stream = call.stream
    return call.status == "in-progress" and stream is not None and stream.end_reason is None


def sim_reason(call: SimCall) -> str:
    stream = call.stream
    return f"{call.status}/{call.end_reason or '-'}/{stream.end_reason if stream else 'no-stream'}"


# ---------------------------------------------------------------------------------------- deployment
@dataclass
class Deployment:
    """Edge, workers and projector in a namespace of their own, on ``servers``."""

    servers: Servers
    sims: SimEnv
    workers: int
    partitions: int
    log_dir: Path
    namespace: str = field(default_factory=lambda: f"soak{uuid.uuid4().hex[:8]}")
    processes: dict[str, PhonyProcess] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return namespace_settings(self.servers, self.namespace, self.partitions)

    @property
    def edge(self) -> PhonyProcess:
        return self.processes["edge"]

    async def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = phony_env(
            self.servers,
            self.namespace,
            self.sims,
            PHONY_PARTITIONS=str(self.partitions),
            PHONY_RATE_WEBHOOKS_PER_MIN="1000000",
        )
        self.processes["edge"] = PhonyProcess("edge", env)
        self.edge.start(self.log_dir)
        await self.edge.ready()  # the edge creates the topics
        for i in range(1, self.workers + 1):
            self.processes[f"worker-{i}"] = PhonyProcess("worker", env)
        self.processes["projector"] = PhonyProcess("projector", env)
        for name, process in self.processes.items():
            if name != "edge":
                process.start(self.log_dir)
        deadline = now() + 90
        while not self.balanced():
            if now() > deadline:
                raise RuntimeError(f"the workers did not share the {self.partitions} partitions in 90 s")
            if dead := self.exited():
                raise RuntimeError(f"{dead[0]} exited during start-up:\n{self.processes[dead[0]].tail()}")
            await asyncio.sleep(0.2)

    def balanced(self) -> bool:
        found = [owned_partitions(p) for n, p in self.processes.items() if n.startswith("worker")]
        return (
            all(found)
            and set().union(*found) == set(range(self.partitions))
            and sum(map(len, found)) == self.partitions
        )

    def exited(self) -> list[str]:
        return [n for n, p in self.processes.items() if p.proc is None or p.proc.poll() is not None]

    def pids(self) -> dict[str, int]:
        return {n: p.proc.pid for n, p in self.processes.items() if p.proc is not None}

    async def stop(self) -> None:
        """Stop every process, then delete the namespace (best effort, bounded)."""
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in self.processes.values()))
        with contextlib.suppress(Exception):
            async with asyncio.timeout(60):
                await self.drop()

    async def drop(self) -> None:
        """The namespace's topics and database, its consumer groups and its Redis keys."""
        await drop_all_of(self.servers, self.settings)

    def error_lines(self, limit: int = 12) -> tuple[int, list[str]]:
        """How many ERROR/CRITICAL lines the processes logged, and the first ``limit`` of them."""
        found: list[str] = []
        for name, process in self.processes.items():
            if process.log_path is None or not process.log_path.exists():
                continue
            for line in process.log_path.read_text(errors="replace").splitlines():
                if " ERROR " in line or " CRITICAL " in line:
                    found.append(f"{name}: {line[:300]}")
        return len(found), found[:limit]


async def setup_tenant(http: httpx.AsyncClient, number: str) -> tuple[str, str]:
    """A tenant with high limits, a key and one agent answering ``number``: (tenant id, key)."""
    tenant = await bench_tenant(http, "soak")
    tenant_id, key = tenant.id, tenant.key
    agent = agent_body(name="soak", phone_numbers=[number], greeting_message=GREETING)
    r = await http.post("/agents/", json=agent, headers={"Authorization": f"Bearer {key}"})
    r.raise_for_status()
    return tenant_id, key


# ---------------------------------------------------------------------------------------- the run
@dataclass
class Line:
    """One placed call and what became of it."""

    call: SimCall
    placed_at: float
    replacement: bool
    ended_by_us: bool = False
    early: str | None = None  # why it ended before the supervisor ended it (the sim's view)


@dataclass
class Soak:
    deployment: Deployment
    twilio: TwilioSim
    http: httpx.AsyncClient
    number: str
    calls: int
    window_s: float
    lines: list[Line] = field(default_factory=list)
    samples: list[tuple[float, dict[str, int | None]]] = field(default_factory=list)
    on_line_counts: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    t0: float = 0.0
    t_end: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds over the window, per process
    machine_busy_pct: float = 0.0  # of all cores, over the window (other users' work included)

    def cpu_now(self) -> dict[str, float]:
        pids = {**self.deployment.pids(), "harness": os.getpid()}
        out = {}
        for name, pid in pids.items():
            with contextlib.suppress(OSError, ValueError, IndexError):
                out[name] = cpu_seconds(pid)
        return out

    def active(self) -> list[Line]:
        return [line for line in self.lines if line.early is None and not line.ended_by_us]

    async def place(self, replacement: bool) -> None:
        call = await self.twilio.place_inbound_call(
            unique_number(), self.number, self.deployment.edge.url, scenario="hold"
        )
        self.lines.append(Line(call, now(), replacement))

    def note_early_ends(self) -> int:
        """Mark the calls that ended (or never got on the line in time) by themselves; how many."""
        found = 0
        for line in self.active():
            call = line.call
            if call.status not in LIVE or (call.stream is not None and call.stream.end_reason is not None):
                line.early = sim_reason(call)
            elif not on_line(call) and now() - line.placed_at > ON_LINE_WITHIN_S:
                line.early = f"not on the line after {ON_LINE_WITHIN_S:.0f} s ({sim_reason(call)})"
                with contextlib.suppress(KeyError, RuntimeError):
                    self.twilio.hang_up(call.sid)
            else:
                continue
            found += 1
            t = now() - self.t0 if self.t0 else 0.0
            print(f"  [{t:6.0f} s] call {call.sid} ended early: {line.early}", file=sys.stderr, flush=True)
        return found

    def sample(self) -> None:
        rss = {name: rss_kb(pid) for name, pid in self.deployment.pids().items()}
        rss["harness"] = rss_kb(os.getpid())
        self.samples.append((now() - self.t0, rss))
        live = sum(1 for line in self.active() if on_line(line.call))
        self.on_line_counts.append(live)
        cells = "  ".join(f"{n} {(v or 0) / 1024:.0f}" for n, v in rss.items())
        print(
            f"  [{now() - self.t0:6.0f} s] on the line {live:>3}  RSS MB: {cells}",
            file=sys.stderr,
            flush=True,
        )

    async def ramp_up(self) -> None:
        for _ in range(self.calls):
            await self.place(replacement=False)
            await asyncio.sleep(1 / RAMP_PER_S)
        deadline = now() + ON_LINE_WITHIN_S
        while sum(1 for line in self.active() if on_line(line.call)) < self.calls and now() < deadline:
            for _ in range(self.note_early_ends()):
                await self.place(replacement=True)
            await asyncio.sleep(0.5)
        live = sum(1 for line in self.active() if on_line(line.call))
        print(f"on the line: {live}/{self.calls} after ramp-up", file=sys.stderr, flush=True)

    async def hold(self) -> None:
        """The window: keep ``calls`` on the line, replace what ends, sample every 10 s."""
        self.t0 = now()
        cpu0, machine0 = self.cpu_now(), machine_ticks()
        next_sample = self.t0
        while (t := now()) < self.t0 + self.window_s:
            if t >= next_sample:
                self.sample()
                next_sample += SAMPLE_S
            if dead := self.deployment.exited():
                self.failures.append(f"process exited during the soak: {', '.join(dead)}")
                for name in dead:
                    print(f"--- {name} log tail:\n{self.deployment.processes[name].tail()}", file=sys.stderr)
                return
            for _ in range(self.note_early_ends()):
                await self.place(replacement=True)
            await asyncio.sleep(min(1.0, max(0.0, next_sample - now())))
        self.sample()  # the end of the window, with the calls still on the line
        self.t_end = now()
        cpu1, machine1 = self.cpu_now(), machine_ticks()
        self.cpu = {name: cpu1[name] - cpu0[name] for name in cpu1 if name in cpu0}
        self.machine_busy_pct = 100 * (machine1[0] - machine0[0]) / max(1, machine1[1] - machine0[1])

    async def end_all(self, key: str) -> None:
        """Every call still on is ended by its supervisor; then wait until the sim saw each end."""
        self.note_early_ends()
        headers = {"Authorization": f"Bearer {key}"}
        gate = asyncio.Semaphore(8)

        async def end(line: Line) -> None:
            line.ended_by_us = True
            async with gate:
                for _ in range(20):  # a call placed just now may not be projected yet (404)
                    r = await self.http.post(
                        "/override/end", json={"callSid": line.call.sid}, headers=headers
                    )
                    if r.status_code == 200 or line.call.ended.is_set():
                        return
                    await asyncio.sleep(0.5)
                self.failures.append(f"/override/end of {line.call.sid}: {r.status_code} {r.text[:200]}")

        await asyncio.gather(*(end(line) for line in self.active()))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(END_WITHIN_S):
                await asyncio.gather(*(line.call.ended.wait() for line in self.lines))
        for line in self.lines:
            if not line.call.ended.is_set():
                self.failures.append(f"call {line.call.sid} still on {END_WITHIN_S:.0f} s after the end")
                with contextlib.suppress(KeyError, RuntimeError):
                    self.twilio.hang_up(line.call.sid)


async def read_calls(settings: Settings, sids: set[str]) -> dict[str, list[EventEnvelope]]:
    """Each call's events as the log has them (committed, in log order)."""
    out: dict[str, list[EventEnvelope]] = defaultdict(list)
    async for logged in read_log(settings):
        event = logged.event
        if event.aggregate_type == "call" and event.aggregate_id in sids:
            out[event.aggregate_id].append(event)
    return out


async def settled_log(settings: Settings, sids: set[str]) -> dict[str, list[EventEnvelope]]:
    """The log once every call has its ``call.ended`` (or 60 s passed), read again a little later so
    that a second ``call.ended`` written late shows too."""
    deadline = now() + END_WITHIN_S
    while True:
        events = await read_calls(settings, sids)
        ended = sum(1 for sid in sids if any(e.type == "call.ended" for e in events.get(sid, [])))
        if ended == len(sids) or now() > deadline:
            break
        await asyncio.sleep(3)
    await asyncio.sleep(5)
    return await read_calls(settings, sids)


def seq_problems(events: list[EventEnvelope], tenant_id: str) -> list[str]:
    problems = []
    seqs = [e.seq for e in events]
    counts = Counter(seqs)
    if dups := sorted(s for s, n in counts.items() if n > 1):
        problems.append(f"duplicate seq {dups[:10]}")
    if gaps := sorted(set(range(1, max(seqs, default=0) + 1)) - set(seqs)):
        problems.append(f"missing seq {gaps[:10]}")
    if seqs != sorted(seqs):
        problems.append("seq out of order")
    if any(e.tenant_id != tenant_id for e in events):
        problems.append(f"tenants {sorted({e.tenant_id for e in events})}")
    return problems


# ---------------------------------------------------------------------------------------- report
def memory_rows(soak: Soak, warmup_s: float) -> list[tuple[str, float, float, float, float, float]]:
    """Per process: (name, RSS after warm-up MB, at the end MB, peak MB, growth %, trend MB/min)."""
    rows = []
    after = [(t, rss) for t, rss in soak.samples if t >= warmup_s] or soak.samples[-1:]
    for name in soak.samples[0][1]:
        series = [(t, v / 1024) for t, rss in after if (v := rss.get(name)) is not None]
        if not series:
            continue
        warm, end = series[0][1], series[-1][1]
        trend = 0.0
        if len(series) > 2:
            trend = statistics.linear_regression([t for t, _ in series], [v for _, v in series]).slope * 60
        peak = max(v for _, v in series)
        rows.append((name, warm, end, peak, 100 * (end - warm) / warm if warm else 0.0, trend))
    return rows


def cpu_pct(soak: Soak, name: str) -> float:
    """CPU of a process over the window, in % of one core."""
    window = soak.t_end - soak.t0
    return 100 * soak.cpu.get(name, float("nan")) / window if window > 0 else float("nan")


def report(
    soak: Soak,
    events: dict[str, list[EventEnvelope]],
    tenant_id: str,
    warmup_s: float,
    workers: int,
) -> list[str]:
    """Print the figures; return the failed checks."""
    failures = list(soak.failures)
    print()
    print(f"Memory (RSS; warm-up = the first {warmup_s:.0f} s of the {soak.window_s:.0f} s window)")
    print(
        f"{'process':<12}{'after warm-up':>14}{'at end':>10}{'peak':>10}{'growth':>9}{'trend':>14}"
        f"{'CPU':>8}  (CPU: % of one core over the window)"
    )
    mem = memory_rows(soak, warmup_s)
    for name, warm, end, peak, growth, trend in mem:
        print(
            f"{name:<12}{warm:>11.1f} MB{end:>7.1f} MB{peak:>7.1f} MB{growth:>+8.1f}%{trend:>+9.2f} MB/min"
            f"{cpu_pct(soak, name):>7.0f}%"
        )
        if name != "harness" and growth >= GROWTH_LIMIT_PCT:
            failures.append(f"{name}: RSS grew {growth:.1f} % after warm-up (limit {GROWTH_LIMIT_PCT:.0f} %)")

    print()
    print("Per call (the Kafka log, read after the end)")
    print(
        f"{'call':<36}{'events':>7}{'ai.resp':>8}{'ended':>6}  {'end reason (log)':<18}{'seq':<10}early (sim)"
    )
    bad_seq = bad_end = 0
    ai_total = 0
    log_reasons: Counter[str] = Counter()
    for line in soak.lines:
        sid = line.call.sid
        mine = events.get(sid, [])
        ai = sum(1 for e in mine if e.type == "ai.response")
        ends = [e for e in mine if e.type == "call.ended"]
        problems = seq_problems(mine, tenant_id)
        reason = ",".join(str(e.data.get("reason")) for e in ends) or "-"
        ai_total += ai
        if line.early is not None:
            log_reasons[reason] += 1
        if problems:
            bad_seq += 1
            failures.append(f"call {sid}: {'; '.join(problems)}")
        if len(ends) != 1:
            bad_end += 1
            failures.append(f"call {sid}: {len(ends)} call.ended")
        seq = "ok" if not problems else "BAD"
        early = line.early or "-"
        print(f"{sid:<36}{len(mine):>7}{ai:>8}{len(ends):>6}  {reason:<18}{seq:<10}{early}")

    total_events = sum(len(v) for v in events.values())
    early_lines = [line for line in soak.lines if line.early is not None]
    sim_reasons = Counter(line.early or "-" for line in early_lines)
    counts = soak.on_line_counts
    replacements = sum(1 for line in soak.lines if line.replacement)
    errors, first_errors = soak.deployment.error_lines()
    print()
    print(
        f"Totals: {len(soak.lines)} calls placed ({replacements} replacements), "
        f"{total_events} events, {ai_total} ai.response; on the line min/mean/max "
        f"{min(counts, default=0)}/{statistics.fmean(counts or [0]):.1f}/{max(counts, default=0)}"
    )
    silent = sum(
        1 for line in soak.lines if not any(e.type == "ai.response" for e in events.get(line.call.sid, []))
    )
    print(
        f"Calls with no ai.response at all: {silent}; machine busy {soak.machine_busy_pct:.0f} % of all cores"
    )
    print(f"Ended before the supervisor ended them: {len(early_lines)}")
    for why, n in sim_reasons.most_common():
        print(f"  {n} x sim {why}")
    for log_reason, n in log_reasons.most_common():
        print(f"  {n} x log call.ended reason {log_reason}")
    print(f"ERROR lines in the processes' logs: {errors}")
    for text in first_errors:
        print(f"  {text}")

    deploy = f"1 edge, {workers} worker{'s' if workers > 1 else ''}, 1 projector"
    print()
    print(f"### Soak: {soak.calls} calls on the line for {soak.window_s / 60:.0f} min ({deploy})")
    print()
    print("| process | RSS after warm-up | RSS at end | peak | growth | trend | CPU (of one core) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, warm, end, peak, growth, trend in mem:
        label = f"{name} (sims, not checked)" if name == "harness" else name
        print(
            f"| {label} | {warm:.1f} MB | {end:.1f} MB | {peak:.1f} MB | {growth:+.1f} % "
            f"| {trend:+.2f} MB/min | {cpu_pct(soak, name):.0f} % |"
        )
    print(
        f"| whole machine ({os.cpu_count()} cores, everyone's work) | | | | | | "
        f"{soak.machine_busy_pct:.0f} % of all |"
    )
    print()
    print(
        "| calls on the line (min/mean) | calls placed | ended early | events | ai.response "
        "| calls with a seq gap/duplicate | calls with ≠ 1 call.ended |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {min(counts, default=0)}/{statistics.fmean(counts or [0]):.1f} | {len(soak.lines)} "
        f"| {len(early_lines)} | {total_events} | {ai_total} | {bad_seq} | {bad_end} |"
    )
    return failures


# ---------------------------------------------------------------------------------------- main
async def main(calls: int, minutes: float, workers: int, partitions: int) -> int:
    started = now()
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    servers = servers_from_env()
    window_s = minutes * 60
    warmup_s = min(WARMUP_S, WARMUP_SHARE * window_s)
    cache_party_speech()
    async with TwilioSim() as twilio, RealtimeSim(scenario_lookup=twilio.scenario_of_caller) as model:
        sims = SimEnv(
            twilio_account_sid=twilio.account_sid,
            twilio_auth_token=twilio.auth_token,
            twilio_api_base=twilio.base_url,
            openai_api_key=model.api_key,
            openai_base_url=model.base_url,
            openai_websocket_base_url=model.websocket_base_url,
        )
        namespace = f"soak{uuid.uuid4().hex[:8]}"
        log_dir = ROOT / ".services" / "logs" / namespace
        deployment = Deployment(servers, sims, workers, partitions, log_dir, namespace)
        try:
            print(f"namespace {namespace}; logs in {log_dir}", file=sys.stderr, flush=True)
            await deployment.start()
            async with httpx.AsyncClient(base_url=deployment.edge.url, timeout=30) as http:
                number = unique_number()
                tenant_id, key = await setup_tenant(http, number)
                soak = Soak(deployment, twilio, http, number, calls, window_s)
                await soak.ramp_up()
                await soak.hold()
                print("ending every call ...", file=sys.stderr, flush=True)
                await soak.end_all(key)
            events = await settled_log(deployment.settings, {line.call.sid for line in soak.lines})
            failures = report(soak, events, tenant_id, warmup_s, workers)
        finally:
            for call in twilio.calls.values():
                if not call.ended.is_set():
                    with contextlib.suppress(KeyError, RuntimeError):
                        twilio.hang_up(call.sid)
            print("stopping the deployment and dropping its namespace ...", file=sys.stderr, flush=True)
            await deployment.stop()
    if twilio.task_errors:
        print(f"(Twilio sim task errors: {twilio.task_errors[:3]})")
    print()
    print(f"Logs: {log_dir}. Run took {now() - started:.0f} s.")
    if failures:
        print(f"FAILED ({len(failures)}):")
        for failure in failures[:40]:
            print(f"  - {failure}")
        return 1
    print("PASSED: memory growth under 10 % after warm-up, no seq gap or duplicate, one call.ended per call")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=30, help="calls kept on the line at once")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the window")
    parser.add_argument("--workers", type=int, choices=(1, 2), default=2, help="phony worker processes")
    parser.add_argument("--partitions", type=int, default=4, help="partitions of each topic")
    args = parser.parse_args()
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            code = runner.run(main(args.calls, args.minutes, args.workers, args.partitions))
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, or SIGTERM (cancels the run)
        print("interrupted: everything this run started was stopped", file=sys.stderr)
        code = 130
    sys.exit(code)
