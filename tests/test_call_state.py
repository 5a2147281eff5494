"""A call's state is restorable from its events alone (what a worker taking over a partition does)."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from phony.config import Settings
from phony.sim.twilio import TwilioSim
from phony.workers.calls.state import CallState, fold_call
from phony.workers.store import AggregateStore
from tests.calls import call_events, ring, wait_for_event
from tests.support import ROOT, PhonyProcess, TenantHandle


async def test_call_state_is_folded_back_from_the_log(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    live = await ring(tenant, twilio_sim, phony, "default", settings, require_approval=False)
    await wait_for_event(settings, live.call.sid, "call.ended", within=60)
    store = AggregateStore(settings)
    store.register("call", CallState, fold_call)
    for event in await call_events(settings, live.call.sid):
        store.fold(event)
    state = store.get("call", live.call.sid)
    assert isinstance(state, CallState)
    assert state.seq == len(await call_events(settings, live.call.sid))
    assert (state.tenant_id, state.agent_id, state.direction) == (tenant.id, live.agent["id"], "inbound")
    assert state.agent is not None
    assert state.agent.greeting_message == live.agent["greeting_message"]
    assert state.ended
    assert state.end_reason == "ai_ended"
    assert state.answered_at is not None
    assert [s for s, _ in state.transcript] == ["ai", "caller", "ai", "caller", "ai"]
    assert state.transcript[1] == ("caller", "Hi, I'd like to check my order status.")


async def test_phony_replay_prints_a_calls_events_in_order(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    live = await ring(tenant, twilio_sim, phony, "default", settings)
    logged = await wait_for_event(settings, live.call.sid, "call.ended", within=60)
    env = {
        **os.environ,
        "PHONY_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "PHONY_TOPIC_PREFIX": settings.topic_prefix,
        "PHONY_PARTITIONS": str(settings.partitions),
    }
    replay = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "phony.cli",
        "replay",
        live.call.sid,
        "--json",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await replay.communicate()
    assert replay.returncode == 0
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert [(e["seq"], e["type"]) for e in lines] == [(e.seq, e.type) for e in logged]
    assert lines[0]["call_sid"] == live.call.sid
    assert "command_id" not in lines[0]
