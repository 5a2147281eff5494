"""Operator logs of a split deployment (edge, worker, projector) with ``PHONY_LOG_FORMAT=json``: JSON
lines only, a few start-up lines and no Kafka client chatter, a call's lines carrying its call SID and
tenant, and one REST request's command id in all three processes' lines."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from phony.commands.agents import CreateAgent
from phony.commands.calls import EndCall, PlaceCall, RegisterOutboundCall, call_sid_of
from phony.commands.tenants import CreateTenant
from phony.config import Settings
from phony.events.agents import AgentSettings
from phony.sim.twilio import TwilioSim
from tests.calls import ring, wait_for_event
from tests.deployment import tenant_on
from tests.support import (
    PhonyProcess,
    Servers,
    SimEnv,
    agent_body,
    drop_namespace,
    eventually,
    namespace_settings,
    phony_env,
)

START_LINES_MAX = 10


@dataclass
class Deployment:
    settings: Settings
    edge: PhonyProcess
    worker: PhonyProcess
    projector: PhonyProcess

    @property
    def processes(self) -> tuple[PhonyProcess, ...]:
        return (self.edge, self.worker, self.projector)


def lines(process: PhonyProcess) -> list[dict[str, Any]]:
    """The process's log as JSON objects (fails on a line that is not one)."""
    assert process.log_path is not None
    found = []
    for raw in process.log_path.read_text(errors="replace").splitlines():
        try:
            found.append(json.loads(raw))
        except json.JSONDecodeError:
            pytest.fail(f"phony {process.role} wrote a line that is not JSON: {raw!r}")
    return found


@pytest.fixture
async def deployment(servers: Servers, sims: SimEnv, log_dir: Path) -> AsyncIterator[Deployment]:
    space = f"t{uuid.uuid4().hex[:10]}"
    env = phony_env(servers, space, sims, PHONY_LOG_FORMAT="json", PHONY_LOG_LEVEL="DEBUG")
    settings = namespace_settings(servers, space, int(env["PHONY_PARTITIONS"]))
    found = Deployment(
        settings, PhonyProcess("edge", env), PhonyProcess("worker", env), PhonyProcess("projector", env)
    )
    try:
        for process in found.processes:
            process.start(log_dir)
        await found.edge.ready()

        async def owns() -> list[str]:
            return [line["msg"] for line in lines(found.worker) if owns_line(line)]

        await eventually(owns, bool, within=60, interval=0.2)
        yield found
    finally:
        for process in found.processes:
            process.stop()
        await drop_namespace(servers, space)


def owns_line(line: dict[str, Any]) -> bool:
    return "worker owns partitions" in line["msg"]


async def test_json_logs_are_quiet_carry_the_call_and_follow_a_command(
    deployment: Deployment, twilio_sim: TwilioSim
) -> None:
    # Start-up: a few INFO lines each, none from the Kafka clients below WARNING.
    edge_start = lines(deployment.edge)
    worker_start = lines(deployment.worker)
    assert [line for line in edge_start if "Uvicorn running" in line["msg"]]
    for start in (edge_start, worker_start, lines(deployment.projector)):
        assert len([line for line in start if line["level"] == "INFO"]) <= START_LINES_MAX, start
    assert sum(map(owns_line, worker_start)) == 1

    # One REST request: its command id is in the edge's, the worker's and the projector's lines.
    async with tenant_on(deployment.edge) as tenant:
        created = await tenant.client.post("/agents/", json=agent_body(phone_numbers=[]))
        assert created.status_code == 201, created.text
        agent_id = created.json()["id"]
        [sent] = [
            line
            for line in lines(deployment.edge)
            if "CreateAgent" in line["msg"] and agent_id in line["msg"]
        ]
        command_id = sent["command_id"]
        assert sent["tenant_id"] == tenant.id

        async def roles_with_it() -> set[str]:
            return {
                p.role
                for p in deployment.processes
                if any(x.get("command_id") == command_id for x in lines(p))
            }

        await eventually(roles_with_it, lambda roles: roles == {"edge", "worker", "projector"})

        # A call: every line that names it carries its call SID and tenant.
        live = await ring(tenant, twilio_sim, deployment.edge, "default", deployment.settings)
        await twilio_sim.wait_for_call_end(live.call.sid, timeout=60)
        await wait_for_event(deployment.settings, live.call.sid, "call.ended")
        sid = live.call.sid

        async def about_the_call() -> dict[str, list[dict[str, Any]]]:
            return {p.role: [x for x in lines(p) if x.get("call_sid") == sid] for p in deployment.processes}

        await eventually(about_the_call, lambda found: all(found.values()))
        for process in deployment.processes:
            for line in lines(process):
                if sid in line["msg"] and line["logger"] != "uvicorn.access":
                    assert line.get("call_sid") == sid, line
                    assert line.get("tenant_id") == tenant.id, line
                if line.get("call_sid") == sid:
                    assert line.get("tenant_id") == tenant.id, line

    for process in deployment.processes:
        chatter = [
            x for x in lines(process) if x["logger"].startswith(("aiokafka", "faststream", "phony.kafka"))
        ]
        assert all(x["level"] in ("WARNING", "ERROR", "CRITICAL") for x in chatter), chatter


def test_a_commands_log_lines_name_the_call_only_for_a_live_calls_commands() -> None:
    settings = AgentSettings(name="a", system_prompt="p", voice="alloy", model="m")
    place = {"agent_id": "agent_1", "agent": settings, "to": "+15551234567", "from": "+15557654321"}
    assert call_sid_of(EndCall(tenant_id="t", aggregate_id="CA1")) == "CA1"
    assert call_sid_of(RegisterOutboundCall(tenant_id="t", aggregate_id="CA2", **place)) == "CA2"
    # Keyed by a request id until Twilio answers with the call's SID.
    assert call_sid_of(PlaceCall(tenant_id="t", aggregate_id="req_1", **place)) is None
    assert call_sid_of(CreateTenant(tenant_id="t", aggregate_id="t", name="Acme")) is None
    assert call_sid_of(CreateAgent(tenant_id="t", aggregate_id="agent_1", settings=settings)) is None
