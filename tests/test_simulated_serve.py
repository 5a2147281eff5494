"""``phony serve`` with no Twilio or OpenAI credentials runs the simulators itself (what ``make up``
does on a fresh machine), and ``phony sim call`` makes a simulated caller ring an agent."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import httpx

from phony.config import Settings
from tests.calls import of_type, wait_for_event
from tests.support import (
    ADMIN_KEY,
    ROOT,
    PhonyProcess,
    Servers,
    agent_body,
    drop_namespace,
    free_port,
    phony_env,
    unique_number,
)


async def test_serve_without_credentials_runs_the_simulators_and_sim_call_rings_an_agent(
    servers: Servers, log_dir: Path
) -> None:
    space = f"t{uuid.uuid4().hex[:10]}"
    sim_ports = {"PHONY_SIM_TWILIO_PORT": str(free_port()), "PHONY_SIM_OPENAI_PORT": str(free_port())}
    env = {**phony_env(servers, space), "PHONY_ENV": "prod", **sim_ports}
    serve = PhonyProcess("serve", env)
    serve.start(log_dir)
    try:
        await serve.ready()
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        async with httpx.AsyncClient(base_url=serve.url, timeout=30) as client:
            tenant = (await client.post("/tenants/", json={"name": "demo"}, headers=admin)).json()
            key = (await client.post(f"/tenants/{tenant['id']}/api-keys", json={}, headers=admin)).json()[
                "key"
            ]
            number = unique_number()
            created = await client.post(
                "/agents/",
                json=agent_body(phone_numbers=[number]),
                headers={"Authorization": f"Bearer {key}"},
            )
            assert created.status_code == 201
        cli = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "phony.cli",
            "sim",
            "call",
            "--from",
            "+15550009999",
            "--to",
            number,
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await cli.communicate()
        assert cli.returncode == 0
        sid = out.decode().strip()  # the SID alone on stdout, for CALL=$(phony sim call ...)
        assert sid.startswith("CA")
        settings = Settings(_env_file=None, kafka_bootstrap=servers.kafka, topic_prefix=space, partitions=4)
        events = await wait_for_event(settings, sid, "call.ended", within=60)
        assert events[0].data["from"] == "+15550009999"
        assert of_type(events, "call.ended")[0].data["reason"] == "ai_ended"
        assert len(of_type(events, "speech.detected")) == 2
    finally:
        serve.stop()
        await drop_namespace(servers, space)
