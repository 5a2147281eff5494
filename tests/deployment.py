"""A split deployment in its own namespace (one edge, two workers, one projector) for fault tests:
which worker owns a call, and killing or pausing it by PID, always restored."""

from __future__ import annotations

import ast
import os
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from phony.commands.audio import call_partition
from phony.config import Settings
from phony.events import EventEnvelope
from tests.support import (
    ADMIN_KEY,
    PhonyProcess,
    Servers,
    SimEnv,
    TenantHandle,
    drop_namespace,
    eventually,
    namespace_settings,
    phony_env,
)

OWNS = "worker owns partitions "
PARTITIONS = 4


def owned_partitions(worker: PhonyProcess) -> set[int]:
    """The partitions the worker was last assigned (from its log)."""
    if worker.log_path is None or not worker.log_path.exists():
        return set()
    lines = [line for line in worker.log_path.read_text(errors="replace").splitlines() if OWNS in line]
    if not lines:
        return set()
    return set(ast.literal_eval(lines[-1].split(OWNS, 1)[1].strip()))


@dataclass
class Split:
    settings: Settings
    edge: PhonyProcess
    workers: list[PhonyProcess]
    projector: PhonyProcess
    paused: set[int] = field(default_factory=set)  # PIDs stopped with SIGSTOP

    def owner_of(self, call_sid: str) -> PhonyProcess:
        partition = call_partition(call_sid, PARTITIONS)
        [owner] = [
            w for w in self.workers if w.proc and w.proc.poll() is None and partition in owned_partitions(w)
        ]
        return owner

    def other_than(self, worker: PhonyProcess) -> PhonyProcess:
        [other] = [w for w in self.workers if w is not worker]
        return other

    def kill(self, worker: PhonyProcess) -> None:
        assert worker.proc is not None
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait(10)

    def pause(self, worker: PhonyProcess) -> None:
        assert worker.proc is not None
        os.kill(worker.proc.pid, signal.SIGSTOP)
        self.paused.add(worker.proc.pid)

    def resume(self, worker: PhonyProcess) -> None:
        assert worker.proc is not None
        os.kill(worker.proc.pid, signal.SIGCONT)
        self.paused.discard(worker.proc.pid)

    async def balanced(self, within: float = 60) -> None:
        """Wait until the live workers share every partition between them."""

        async def spread() -> list[set[int]]:
            return [owned_partitions(w) for w in self.workers if w.proc and w.proc.poll() is None]

        def covers(found: list[set[int]]) -> bool:
            return (
                all(found)
                and set().union(*found) == set(range(PARTITIONS))
                and sum(map(len, found)) == PARTITIONS
            )

        await eventually(spread, covers, within=within, interval=0.2)

    def log_of(self, worker: PhonyProcess) -> str:
        assert worker.log_path is not None
        return worker.log_path.read_text(errors="replace")


@asynccontextmanager
async def split_deployment(servers: Servers, sims: SimEnv, log_dir: Path) -> AsyncIterator[Split]:
    """Start the split deployment; on the way out resume what was paused, stop everything, and drop
    the namespace."""
    space = f"t{uuid.uuid4().hex[:10]}"
    env = phony_env(servers, space, sims, PHONY_PARTITIONS=str(PARTITIONS))
    settings = namespace_settings(servers, space, PARTITIONS)
    edge = PhonyProcess("edge", env)
    workers = [PhonyProcess("worker", env), PhonyProcess("worker", env)]
    projector = PhonyProcess("projector", env)
    split = Split(settings, edge, workers, projector)
    try:
        for process in (edge, *workers, projector):
            process.start(log_dir)
        await edge.ready()
        await split.balanced()
        yield split
    finally:
        for pid in list(split.paused):
            os.kill(pid, signal.SIGCONT)
        for process in (edge, *workers, projector):
            process.stop()
        await drop_namespace(servers, space)


@asynccontextmanager
async def tenant_on(edge: PhonyProcess) -> AsyncIterator[TenantHandle]:
    """A fresh tenant and key on ``edge``."""
    async with httpx.AsyncClient(
        base_url=edge.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30
    ) as admin:
        tenant = await admin.post("/tenants/", json={"name": "faults"})
        assert tenant.status_code == 201, tenant.text
        key = await admin.post(f"/tenants/{tenant.json()['id']}/api-keys", json={"name": "faults"})
        assert key.status_code == 201, key.text
    async with httpx.AsyncClient(
        base_url=edge.url, headers={"Authorization": f"Bearer {key.json()['key']}"}, timeout=30
    ) as client:
        yield TenantHandle(tenant.json()["id"], key.json()["key"], key.json()["id"], client)


def log_problems(events: list[EventEnvelope], tenant_id: str) -> list[str]:
    """What is wrong with a call's log: seq gaps or duplicates, events of another (or no) tenant,
    not exactly one ``call.ended``."""
    problems = []
    seqs = [e.seq for e in events]
    if seqs != list(range(1, len(seqs) + 1)):
        problems.append(f"seqs {seqs}")
    if any(e.tenant_id != tenant_id for e in events):
        problems.append(f"tenants {sorted({e.tenant_id for e in events})}")
    ends = [e for e in events if e.type == "call.ended"]
    if len(ends) != 1:
        problems.append(f"{len(ends)} call.ended")
    return problems
