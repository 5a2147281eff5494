"""A live call survives the death or the pause of the worker that owns it (SPEC §7): another worker
takes it over on the same Twilio stream, and the call's log stays one writer's (read from Kafka)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from phony.events import EventEnvelope
from phony.sim.realtime import RealtimeSession, RealtimeSim
from phony.sim.scenarios import parse_call_metadata
from phony.sim.twilio import SimCall, TwilioSim
from tests.calls import call_events, of_type, ring, wait_for_event
from tests.deployment import Split, log_problems, split_deployment, tenant_on
from tests.support import Servers, SimEnv, TenantHandle, eventually


@pytest.fixture
async def split(servers: Servers, sims: SimEnv, log_dir: Path) -> AsyncIterator[Split]:
    async with split_deployment(servers, sims, log_dir) as deployment:
        yield deployment


@pytest.fixture
async def split_tenant(split: Split) -> AsyncIterator[TenantHandle]:
    async with tenant_on(split.edge) as tenant:
        yield tenant


async def ai_responses_after(split: Split, sid: str, seq: int, count: int = 1) -> list[EventEnvelope]:
    async def probe() -> list[EventEnvelope]:
        return [e for e in of_type(await call_events(split.settings, sid), "ai.response") if e.seq > seq]

    return await eventually(probe, lambda found: len(found) >= count, within=60, interval=0.2)


async def end_call(split: Split, tenant: TenantHandle, sid: str) -> list[EventEnvelope]:
    r = await tenant.client.post("/override/end", json={"callSid": sid})
    assert r.status_code == 200, r.text
    await wait_for_event(split.settings, sid, "call.ended", within=60)
    return await call_events(split.settings, sid)


def marks_sent_to(call: SimCall) -> list[str]:
    """The marks the app sent on the call's streams (one after each piece of AI audio)."""
    return [name for stream in call.streams for name in stream.marks_received]


async def heard_after(call: SimCall, moment: float) -> float | None:
    """When the caller first heard the AI after ``moment`` (monotonic), if it has."""
    return call.first_ai_audio_after(moment)


def sessions_of(model: RealtimeSim, caller: str) -> list[RealtimeSession]:
    return [
        s
        for s in model.sessions
        if parse_call_metadata(str(s.config.get("instructions", ""))).get("from") == caller
    ]


async def all_closed(model: RealtimeSim, caller: str) -> None:
    async def open_sessions() -> int:
        return sum(1 for s in model.sessions if s in sessions_of(model, caller) and not s.closed)

    await eventually(open_sessions, lambda n: n == 0, within=20)


async def test_a_live_call_goes_on_when_the_worker_owning_it_is_killed(
    split: Split, split_tenant: TenantHandle, twilio_sim: TwilioSim, model_sim: RealtimeSim
) -> None:
    live = await ring(split_tenant, twilio_sim, split.edge, "hold", split.settings, require_approval=False)
    [greeting] = of_type(await wait_for_event(split.settings, live.call.sid, "ai.response"), "ai.response")
    owner = split.owner_of(live.call.sid)

    killed_at = time.monotonic()
    split.kill(owner)

    heard_at = await eventually(lambda: heard_after(live.call, killed_at), lambda t: t is not None, within=60)
    assert heard_at is not None
    print(f"caller heard the AI again {heard_at - killed_at:.2f} s after the kill")
    last = (await call_events(split.settings, live.call.sid))[-1].seq
    await ai_responses_after(split, live.call.sid, max(greeting.seq, last))  # the conversation goes on
    assert len(live.call.streams) == 1  # on the same Twilio stream: the edge kept the socket

    events = await end_call(split, split_tenant, live.call.sid)
    assert log_problems(events, split_tenant.id) == []
    assert of_type(events, "call.ended")[0].data["reason"] == "supervisor_ended"
    await all_closed(model_sim, live.caller)


async def test_a_paused_owner_is_fenced_and_says_nothing_once_resumed(
    split: Split, split_tenant: TenantHandle, twilio_sim: TwilioSim, model_sim: RealtimeSim
) -> None:
    live = await ring(split_tenant, twilio_sim, split.edge, "hold", split.settings, require_approval=False)
    await wait_for_event(split.settings, live.call.sid, "ai.response")
    owner = split.owner_of(live.call.sid)
    [first_session] = sessions_of(model_sim, live.caller)
    before = set(marks_sent_to(live.call))

    split.pause(owner)
    paused_at = time.monotonic()
    # A supervisor command in flight: on the log while the owner is paused, carried out by the new one.
    r = await split_tenant.client.post(
        "/override/text", json={"callSid": live.call.sid, "text": "A colleague is joining the call."}
    )
    assert r.status_code == 200, r.text
    events = await wait_for_event(split.settings, live.call.sid, "supervisor.text_sent", within=60)
    heard = await eventually(lambda: heard_after(live.call, paused_at), lambda t: t is not None, within=60)
    assert heard is not None
    print(f"caller heard the AI again {heard - paused_at:.2f} s after the pause")

    split.resume(owner)

    # Once resumed the old owner learns it lost the call: it closes the model session it held at once.
    async def old_session_closed() -> bool:
        return first_session.closed

    await eventually(old_session_closed, within=30)
    last = (await call_events(split.settings, live.call.sid))[-1].seq
    await ai_responses_after(split, live.call.sid, last)  # the call goes on with the new owner

    events = await end_call(split, split_tenant, live.call.sid)
    assert log_problems(events, split_tenant.id) == []
    old_replies = {run.id for run in first_session.responses}
    heard_from_old = {m for m in marks_sent_to(live.call) if m.rpartition(":")[0] in old_replies} - before
    assert heard_from_old == set()  # no audio from the paused worker reached the caller
    await all_closed(model_sim, live.caller)
