"""The operator CLI (``phony tenants|keys|agents|calls``, ``replay``, ``rebuild``), run as the real
``phony`` command in a subprocess against the session's Phony: what it prints, what it changes on the
server, and its one-line errors.

Every subprocess is an asyncio one: the simulators run in this test process's event loop, and a
blocking wait would stall the call the command is looking at."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from phony.config import Settings
from phony.sim.twilio import TwilioSim
from tests.calls import LiveInbound, call_events, ring, wait_for_event
from tests.conftest import new_tenant
from tests.support import (
    ADMIN_KEY,
    ROOT,
    PhonyProcess,
    Servers,
    TenantHandle,
    agent_body,
    drop_namespace,
    free_port,
    unique_number,
)

PHONY = Path(sys.executable).parent / "phony"  # the console script pyproject.toml declares
WITHIN_S = 60.0


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a ``phony`` run: no PHONY_* of this shell, a wide terminal (rich wraps at
    80 columns otherwise), and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHONY_")}
    return {**env, "COLUMNS": "220", **extra}


async def phony_cli(*args: str, env: dict[str, str], cwd: Path = ROOT) -> Ran:
    proc = await asyncio.create_subprocess_exec(
        str(PHONY), *args, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), WITHIN_S)
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode(), err.decode())


Cli = Callable[..., Awaitable[Ran]]


def bound(env: dict[str, str]) -> Cli:
    async def run(*args: str) -> Ran:
        return await phony_cli(*args, env=env)

    return run


@pytest.fixture
def operator_cli(phony: PhonyProcess) -> Cli:
    """``phony`` with the operator key in PHONY_ADMIN_KEY."""
    return bound(cli_env(PHONY_BASE_URL=phony.url, PHONY_ADMIN_KEY=ADMIN_KEY))


@pytest.fixture
def tenant_cli(phony: PhonyProcess, tenant: TenantHandle) -> Cli:
    """``phony`` with a fresh tenant's key in PHONY_API_KEY."""
    return bound(cli_env(PHONY_BASE_URL=phony.url, PHONY_API_KEY=tenant.key))


def log_env(settings: Settings, **extra: str) -> dict[str, str]:
    """What ``replay`` and ``rebuild`` need to find the session's log."""
    found = {
        "PHONY_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "PHONY_MONGODB_URL": settings.mongodb_url,
        "PHONY_TOPIC_PREFIX": settings.topic_prefix,
        "PHONY_PARTITIONS": str(settings.partitions),
        "PHONY_MONGODB_DB": settings.mongodb_db,
    }
    return cli_env(**{**found, **extra})


def ok(ran: Ran) -> Ran:
    assert ran.code == 0, f"exit {ran.code}\nstdout: {ran.out}\nstderr: {ran.err}"
    return ran


def one_line_error(ran: Ran) -> str:
    """The error of a failed run: exit 1, one line on stderr, nothing on stdout, no traceback."""
    assert ran.code == 1, ran
    assert "Traceback" not in ran.err + ran.out
    assert ran.out == ""
    assert len(ran.err.strip().splitlines()) == 1, ran.err
    return ran.err.strip()


@dataclass(frozen=True)
class Finished:
    tenant: TenantHandle
    live: LiveInbound


@pytest.fixture(scope="module")
async def finished(
    admin: httpx.AsyncClient, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> AsyncIterator[Finished]:
    """One simulated inbound call of the default script, ended, for the tests that read a call."""
    handle = await new_tenant(admin, "cli-calls")
    async with handle.client:
        live = await ring(handle, twilio_sim, phony, "default", settings)
        await wait_for_event(settings, live.call.sid, "call.ended", within=WITHIN_S)
        projected = await handle.client.get(f"/calls/{live.call.sid}")
        assert projected.status_code == 200, projected.text
        yield Finished(handle, live)


def as_tenant(phony: PhonyProcess, handle: TenantHandle) -> Cli:
    return bound(cli_env(PHONY_BASE_URL=phony.url, PHONY_API_KEY=handle.key))


# -- tenants ---------------------------------------------------------------------------------------


async def test_tenants_create_prints_the_id_of_the_new_tenant(
    operator_cli: Cli, admin: httpx.AsyncClient
) -> None:
    name = f"cli-{uuid.uuid4().hex[:6]}"
    ran = ok(await operator_cli("tenants", "create", name, "--calls-per-minute", "42"))
    tenant_id = ran.out.strip()
    got = (await admin.get(f"/tenants/{tenant_id}")).json()
    assert (got["name"], got["limits"]["calls_per_minute"]) == (name, 42)
    assert name in ran.err


async def test_tenants_list_shows_the_newest_tenant_in_a_table(
    operator_cli: Cli, admin: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    total = (await admin.get("/tenants/", params={"limit": 1})).json()["total"]
    ran = ok(await operator_cli("tenants", "list", "--offset", str(total - 1)))
    header = next(line for line in ran.lines if "name" in line)
    assert re.search(r"id\s.*name\s.*status", header)
    assert any(tenant.id in line and "active" in line for line in ran.lines)
    assert (f"{total} of {total} tenants" if total > 1 else "1 tenant") in ran.out
    listed = json.loads(ok(await operator_cli("tenants", "list", "--json", "--offset", str(total - 1))).out)
    assert [t["id"] for t in listed] == [tenant.id]


async def test_tenants_suspend_gets_the_tenants_keys_refused(operator_cli: Cli, tenant: TenantHandle) -> None:
    ok(await operator_cli("tenants", "suspend", tenant.id))
    assert (await tenant.client.get("/agents/")).status_code == 403


# -- keys ------------------------------------------------------------------------------------------


async def test_keys_create_prints_a_key_that_works(
    operator_cli: Cli, phony: PhonyProcess, tenant: TenantHandle
) -> None:
    ran = ok(await operator_cli("keys", "create", "--tenant", tenant.id, "--name", "ci"))
    key = ran.out.strip()
    async with httpx.AsyncClient(base_url=phony.url, headers={"Authorization": f"Bearer {key}"}) as client:
        me = await client.get("/tenants/me")
    assert me.status_code == 200
    assert me.json()["id"] == tenant.id
    assert "shown only now" in ran.err


async def test_keys_list_shows_each_keys_prefix_never_the_key(
    operator_cli: Cli, tenant: TenantHandle
) -> None:
    ran = ok(await operator_cli("keys", "list", "-t", tenant.id))
    row = next(line for line in ran.lines if tenant.key_id in line)
    assert "tests" in row  # the name new_tenant gave it
    assert tenant.key not in ran.out
    assert tenant.key[:8] in row


async def test_keys_revoke_gets_the_key_refused_at_once(operator_cli: Cli, tenant: TenantHandle) -> None:
    ran = ok(await operator_cli("keys", "revoke", tenant.key_id, "--tenant", tenant.id, "--json"))
    assert json.loads(ran.out)["active"] is False
    assert (await tenant.client.get("/agents/")).status_code == 401


# -- agents ----------------------------------------------------------------------------------------


async def test_agents_create_makes_an_agent_with_the_options_given(
    tenant_cli: Cli, tenant: TenantHandle
) -> None:
    number = unique_number()
    ran = ok(
        await tenant_cli(
            "agents", "create", "--name", "Front desk", "--number", number, "--voice", "echo",
            "--prompt", "You answer the front desk.", "--require-approval",
        )
    )  # fmt: skip
    agent = (await tenant.client.get(f"/agents/{ran.out.strip()}")).json()
    assert (agent["name"], agent["phone_numbers"], agent["voice"]) == ("Front desk", [number], "echo")
    assert (agent["system_prompt"], agent["require_approval"]) == ("You answer the front desk.", True)


async def test_agents_list_shows_the_tenants_agents(tenant_cli: Cli, tenant: TenantHandle) -> None:
    numbers = [unique_number(), unique_number()]
    for i, number in enumerate(numbers):
        body = agent_body(name=f"Line {i}", phone_numbers=[number])
        assert (await tenant.client.post("/agents/", json=body)).status_code == 201
    ran = ok(await tenant_cli("agents", "list"))
    assert [line for line in ran.lines if "Line 0" in line and numbers[0] in line]
    assert [line for line in ran.lines if "Line 1" in line and numbers[1] in line]
    assert "2 agents" in ran.out


async def test_agents_show_prints_the_agents_settings(tenant_cli: Cli, tenant: TenantHandle) -> None:
    number = unique_number()
    created = await tenant.client.post("/agents/", json=agent_body(phone_numbers=[number]))
    agent_id = created.json()["id"]
    ran = ok(await tenant_cli("agents", "show", agent_id))
    assert ran.lines[0] == f"agent {agent_id}"
    assert re.search(rf"numbers\s+{re.escape(number)}", ran.out)
    assert re.search(r"greeting\s+Hello! How can I help you today\?", ran.out)
    assert json.loads(ok(await tenant_cli("agents", "show", agent_id, "--json")).out) == created.json()


# -- calls -----------------------------------------------------------------------------------------


async def test_calls_place_starts_an_outbound_call_and_prints_its_sid(
    tenant_cli: Cli, tenant: TenantHandle, settings: Settings
) -> None:
    created = await tenant.client.post("/agents/", json=agent_body(phone_numbers=[unique_number()]))
    callee = unique_number()
    ran = ok(await tenant_cli("calls", "place", "--agent", created.json()["id"], "--to", callee))
    sid = ran.out.strip()
    events = await wait_for_event(settings, sid, "call.ended", within=WITHIN_S)
    assert events[0].data["to"] == callee
    assert events[0].data["direction"] == "outbound"


async def test_calls_show_prints_the_call_and_its_transcript(phony: PhonyProcess, finished: Finished) -> None:
    ran = ok(await as_tenant(phony, finished.tenant)("calls", "show", finished.live.call.sid))
    assert ran.lines[0] == f"call {finished.live.call.sid}"
    assert re.search(r"status\s+completed", ran.out)
    assert re.search(rf"from\s+{re.escape(finished.live.caller)}", ran.out)
    assert "caller: Hi, I'd like to check my order status." in ran.out
    assert "ai: Sure. Your order shipped yesterday." in ran.out


async def test_calls_list_shows_the_tenants_calls(phony: PhonyProcess, finished: Finished) -> None:
    ran = ok(await as_tenant(phony, finished.tenant)("calls", "list"))
    row = next(line for line in ran.lines if finished.live.call.sid in line)
    assert "completed" in row
    assert "inbound" in row
    assert finished.live.caller in row
    assert re.search(r"^1 call\s*$", ran.out, re.MULTILINE)


async def test_calls_list_takes_a_span_of_time(phony: PhonyProcess, finished: Finished) -> None:
    tenant = as_tenant(phony, finished.tenant)
    assert finished.live.call.sid in ok(await tenant("calls", "list", "--since", "2000-01-01")).out
    later = ok(await tenant("calls", "list", "--since", "2999-01-01", "--before", "2999-01-02T00:00:00Z"))
    assert finished.live.call.sid not in later.out
    refused = await tenant("calls", "list", "--since", "tomorrow")
    assert refused.code == 1
    assert "created_since" in refused.err


async def test_calls_tail_prints_a_live_calls_events_until_it_ends(
    phony: PhonyProcess, tenant: TenantHandle, twilio_sim: TwilioSim, settings: Settings
) -> None:
    live = await ring(tenant, twilio_sim, phony, "hold", settings)  # the caller holds until ended
    env = cli_env(PHONY_BASE_URL=phony.url, PHONY_API_KEY=tenant.key)
    tail = await asyncio.create_subprocess_exec(
        str(PHONY), "calls", "tail", live.call.sid, env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert tail.stdout is not None
    seen: list[str] = []
    while not any("speech.detected" in line for line in seen):
        line = await asyncio.wait_for(tail.stdout.readline(), WITHIN_S)
        assert line, f"tail ended early: {seen}"
        seen.append(line.decode())
    assert tail.returncode is None  # still following: the call goes on
    assert not [e for e in await call_events(settings, live.call.sid) if e.type == "call.ended"]
    ended = await tenant.client.post("/override/end", json={"callSid": live.call.sid})
    assert ended.status_code == 200, ended.text
    rest, _ = await asyncio.wait_for(tail.communicate(), WITHIN_S)
    lines = seen + rest.decode().splitlines()
    assert tail.returncode == 0
    assert lines[0] == f"call {live.call.sid}\n"
    events = [line.split() for line in lines[2:]]
    assert [int(e[1]) for e in events] == list(range(1, len(events) + 1))
    assert events[0][2] == "call.started"
    assert events[-1][2] == "call.ended"
    speech = next(line for line in lines if "speech.detected" in line)
    assert re.search(r"speech\.detected\s+caller\s+Are you still there\?", speech)


# -- replay and rebuild ----------------------------------------------------------------------------


async def test_replay_prints_the_calls_timeline(finished: Finished, settings: Settings) -> None:
    sid = finished.live.call.sid
    ran = ok(await phony_cli("replay", sid, env=log_env(settings)))
    logged = await call_events(settings, sid)
    assert ran.lines[0] == f"call {sid}"
    assert ran.lines[1].split() == ["time", "seq", "type", "who", "text"]
    rows = [line.split() for line in ran.lines[2:]]
    assert [(int(r[1]), r[2]) for r in rows] == [(e.seq, e.type) for e in logged]
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", r[0]) for r in rows)
    said = [line for line in ran.lines if "speech.detected" in line]
    assert re.search(r"caller\s+Hi, I'd like to check my order status\.", said[0])
    assert re.search(rf"call\.started\s+phony\s+inbound {re.escape(finished.live.caller)} ->", ran.out)
    assert re.search(r"call\.ended\s+phony\s+\S+ after \d+\.\d s", ran.lines[-1])


async def test_replay_json_prints_the_logged_events_as_json_lines(
    finished: Finished, settings: Settings
) -> None:
    sid = finished.live.call.sid
    ran = ok(await phony_cli("replay", sid, "--json", env=log_env(settings)))
    logged = await call_events(settings, sid)
    assert [json.loads(line) for line in ran.lines] == [e.public() for e in logged]


async def test_replay_of_an_unknown_id_is_one_line(settings: Settings) -> None:
    error = one_line_error(await phony_cli("replay", "CAnothing", env=log_env(settings)))
    assert "no events of CAnothing" in error


async def test_rebuild_reports_its_events_per_second(
    finished: Finished, settings: Settings, servers: Servers
) -> None:
    target = f"cli_rebuild_{uuid.uuid4().hex[:8]}"
    try:
        ran = ok(await phony_cli("rebuild", env=log_env(settings, PHONY_MONGODB_DB=target)))
    finally:
        await drop_namespace(servers, target)
    found = re.search(
        r"rebuilt read models of (\S+) from (\d+) events in [\d.]+ s \(([\d,]+) events/s\)", ran.out
    )
    assert found, ran.out
    assert found[1] == target
    assert int(found[2]) >= len(await call_events(settings, finished.live.call.sid))
    assert int(found[3].replace(",", "")) > 0


# -- errors ----------------------------------------------------------------------------------------


async def test_a_bad_key_is_one_line_with_the_servers_message(phony: PhonyProcess) -> None:
    ran = await phony_cli("agents", "list", "--api-key", "pk_wrong", env=cli_env(PHONY_BASE_URL=phony.url))
    assert one_line_error(ran) == "error: invalid API key (401 UNAUTHORIZED)"


async def test_a_down_server_is_one_line_naming_its_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    ran = await phony_cli("calls", "list", env=cli_env(PHONY_BASE_URL=url, PHONY_API_KEY="pk_any"))
    assert one_line_error(ran).startswith(f"error: cannot reach Phony at {url}: ")


async def test_an_unknown_id_is_one_line_with_the_404_message(tenant_cli: Cli) -> None:
    error = one_line_error(await tenant_cli("agents", "show", "agent_nope"))
    assert error == "error: agent not found: agent_nope (404 NOT_FOUND)"


async def test_a_validation_error_is_one_line_naming_the_field(tenant_cli: Cli) -> None:
    error = one_line_error(await tenant_cli("agents", "create", "--name", "x", "--number", "12345"))
    assert error.startswith("error: invalid phone_numbers: ")
    assert error.endswith("(422)")


async def test_the_operator_key_is_read_from_where_make_up_writes_it(
    phony: PhonyProcess, tmp_path: Path
) -> None:
    (tmp_path / ".services").mkdir()
    (tmp_path / ".services" / "admin-key").write_text(ADMIN_KEY + "\n")
    ran = await phony_cli("tenants", "list", "--json", env=cli_env(PHONY_BASE_URL=phony.url), cwd=tmp_path)
    assert isinstance(json.loads(ok(ran).out), list)
