"""Calls end to end, through the real servers, the simulated Twilio (REST, webhooks, media stream,
the other party) and the simulated OpenAI Realtime model."""

from __future__ import annotations

from typing import Any

from phony.config import Settings
from phony.events.log import read_log
from phony.sim.realtime import RealtimeSim
from phony.sim.twilio import TwilioSim
from tests.support import PhonyProcess, TenantHandle, agent_body, eventually, unique_number


async def call_events(settings: Settings, call_sid: str) -> list[Any]:
    return [e.event async for e in read_log(settings, aggregate_id=call_sid)]


async def wait_for_event(settings: Settings, call_sid: str, type_: str, within: float = 30) -> list[Any]:
    async def probe() -> list[Any]:
        return await call_events(settings, call_sid)

    return await eventually(
        probe, lambda events: any(e.type == type_ for e in events), within=within, interval=0.2
    )


async def test_inbound_default_call_is_answered_by_the_agent_and_ended_by_the_ai(
    tenant: TenantHandle,
    phony: PhonyProcess,
    twilio_sim: TwilioSim,
    model_sim: RealtimeSim,
    settings: Settings,
) -> None:
    number = unique_number()
    agent = (await tenant.client.post("/agents/", json=agent_body(phone_numbers=[number]))).json()
    call = await twilio_sim.place_inbound_call("+15550001111", number, phony.url, scenario="default")
    await twilio_sim.wait_for_call_end(call.sid, timeout=60)
    events = await wait_for_event(settings, call.sid, "call.ended")
    types = [e.type for e in events]
    assert types[0] == "call.started"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert types.count("call.ended") == 1
    ended = next(e for e in events if e.type == "call.ended")
    assert ended.data["reason"] == "ai_ended"
    said = [e.data["text"] for e in events if e.type == "speech.detected"]
    assert said == ["Hi, I'd like to check my order status.", "Great, thanks, that's all."]
    replies = [e.data["text"] for e in events if e.type == "ai.response"]
    assert replies[0] == agent["greeting_message"]
    assert "You're welcome, goodbye!" in replies
    assert events[0].data["agent_id"] == agent["id"]
