"""Helpers for call tests: reading a call's events, finding its model session, placing calls."""

from __future__ import annotations

import io
import struct
import uuid
import wave
from dataclasses import dataclass
from typing import Any

from phony import recordings
from phony.config import Settings
from phony.events import EventEnvelope
from phony.events.log import read_log
from phony.projections.documents import mongo_client
from phony.sim.realtime import RealtimeSession, RealtimeSim
from phony.sim.scenarios import parse_call_metadata
from phony.sim.twilio import SimCall, TwilioSim
from tests.support import PhonyProcess, TenantHandle, agent_body, eventually, unique_number


async def call_events(settings: Settings, call_sid: str) -> list[EventEnvelope]:
    """A call's events, from the log (the source of truth)."""
    return [e.event async for e in read_log(settings, aggregate_id=call_sid)]


async def wait_for_event(
    settings: Settings, call_sid: str, type_: str, within: float = 40
) -> list[EventEnvelope]:
    """The call's events once one of type ``type_`` is among them."""

    async def probe() -> list[EventEnvelope]:
        return await call_events(settings, call_sid)

    return await eventually(probe, lambda evs: any(e.type == type_ for e in evs), within=within, interval=0.2)


def of_type(events: list[EventEnvelope], type_: str) -> list[EventEnvelope]:
    return [e for e in events if e.type == type_]


def session_of(model: RealtimeSim, caller: str) -> RealtimeSession | None:
    """The fake model's session serving the call from ``caller`` (by the instructions' metadata)."""
    for session in reversed(model.sessions):
        instructions = str(session.config.get("instructions", ""))
        if parse_call_metadata(instructions).get("from") == caller:
            return session
    return None


def received(session: RealtimeSession | None, type_: str) -> list[dict[str, Any]]:
    """Client events of ``type_`` the fake model received in ``session``."""
    return [e for e in (session.received if session else []) if e.get("type") == type_]


@dataclass
class LiveInbound:
    agent: dict[str, Any]
    caller: str
    number: str
    call: SimCall


async def ring(
    tenant: TenantHandle,
    twilio: TwilioSim,
    phony: PhonyProcess,
    scenario: str,
    settings: Settings,
    **agent: object,
) -> LiveInbound:
    """Create an agent with a fresh number and ring it from a fresh caller, following ``scenario``;
    return once the call's media has started."""
    number, caller = unique_number(), "+1555" + str(uuid.uuid4().int % 10**7).zfill(7)
    created = await tenant.client.post("/agents/", json=agent_body(phone_numbers=[number], **agent))
    assert created.status_code == 201, created.text
    call = await twilio.place_inbound_call(caller, number, phony.url, scenario=scenario)
    await wait_for_event(settings, call.sid, "media.started")
    return LiveInbound(created.json(), caller, number, call)


async def recorded(settings: Settings, call_sid: str) -> list[recordings.AudioSegment]:
    """The call's stored audio segments (both tracks), as the worker saved them."""
    client = mongo_client(settings)
    try:
        return await recordings.load_call(client[settings.mongodb_db], call_sid)
    finally:
        await client.close()


def decode_wav(body: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """(channels, sample rate, samples per channel) of a 16-bit WAV."""
    with wave.open(io.BytesIO(body)) as w:
        channels, rate = w.getnchannels(), w.getframerate()
        assert w.getsampwidth() == 2
        frames = w.readframes(w.getnframes())
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    return channels, rate, [samples[c::channels] for c in range(channels)]
