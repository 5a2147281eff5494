"""A partition's history as the worker writes it: tenants, agents, ended and live calls, as payloads for
``EventWriter.emit`` (which numbers and stamps them), for the snapshot tests and ``bench/restore.py``."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator

from phony.events import EventData, new_id
from phony.events.agents import AgentCreated, AgentSettings
from phony.events.calls import (
    AiResponse,
    CallAnswered,
    CallEnded,
    CallRinging,
    CallStarted,
    ClarificationRequested,
    CommandExecuted,
    HeldCommand,
    LatencyMeasured,
    MediaStarted,
    ResponsePendingApproval,
    SpeechDetected,
)
from phony.events.log import partition_for
from phony.events.tenants import ApiKeyIssued, TenantCreated, TenantLimits

SETTINGS = AgentSettings(
    name="Customer Service Bot",
    system_prompt="You are a helpful customer service representative",
    voice="alloy",
    model="gpt-realtime",
    greeting_message="Hello! How can I help you today?",
    phone_numbers=["+15559870002"],
    transfer_allowlist=["+1555"],
)


def ids_on(partition: int, partitions: int, prefix: str) -> Iterator[str]:
    """Fresh ids (``<prefix>…``) that Kafka's partitioner puts on ``partition``."""
    for _ in itertools.count():
        candidate = f"{prefix}{uuid.uuid4().hex}"
        if partition_for(candidate, partitions) == partition:
            yield candidate


def tenant_events() -> list[EventData]:
    return [
        TenantCreated(name="acme", limits=TenantLimits(calls_per_minute=20)),
        ApiKeyIssued(key_id=new_id("key"), name="ops", prefix="phk_abc", key_hash="0" * 64),
    ]


def agent_events() -> list[EventData]:
    return [AgentCreated(settings=SETTINGS)]


def started(sid: str, agent_id: str, **fields: object) -> CallStarted:
    body: dict[str, object] = {
        "callSid": sid,
        "from": "+15551230001",
        "to": "+15559870002",
        "timestamp": "2026-12-01T09:00:00+00:00",
        "direction": "inbound",
        "agent_id": agent_id,
        "agent": SETTINGS,
        "metadata": {"campaign": "winter", "attempt": 1},
        **fields,
    }
    return CallStarted.model_validate(body)


def said(text: str) -> SpeechDetected:
    return SpeechDetected(speaker="caller", text=text, confidence=0.93)


def reply(n: int, text: str) -> AiResponse:
    return AiResponse(response_id=f"resp_{n}", text=text, audio_url=None, model="gpt-realtime", audio_ms=1800)


def connected(sid: str, agent_id: str, **fields: object) -> list[EventData]:
    """A call up to its media stream."""
    return [
        started(sid, agent_id, **fields),
        CallRinging(),
        CallAnswered(),
        MediaStarted(stream_sid=f"MZ{sid[2:]}"),
    ]


def turns(first: int, count: int) -> list[EventData]:
    """``count`` exchanges: the caller speaks, the AI answers, its latency is measured."""
    events: list[EventData] = []
    for n in range(first, first + count):
        events += [
            said(f"Question number {n} about my order."),
            reply(n, f"Here is the answer to question {n}."),
            LatencyMeasured(metric="voice_to_voice", ms=480.0 + n),
        ]
    return events


def ended_call(sid: str, agent_id: str) -> list[EventData]:
    """A short call that ended: 13 events."""
    ended = CallEnded.model_validate({"callSid": sid, "duration": 31.5, "reason": "caller_hangup"})
    return [*connected(sid, agent_id), *turns(1, 2), said("Thanks, bye."), ended]


def live_call(sid: str, agent_id: str) -> list[EventData]:
    """A call in progress with everything a live state holds: a reply held for approval carrying a
    command, an open question to the supervisor, a refused and an accepted LLM command."""
    held = HeldCommand(command="transfer", argument="+15550001111", source="tool", call_id="call_7")
    return [
        *connected(sid, agent_id, scenario="hold"),
        *turns(1, 2),
        ResponsePendingApproval(response_id="resp_held", text="Let me transfer you.", commands=(held,)),
        ClarificationRequested(question="May I refund?", call_id="call_8"),
        CommandExecuted(command="transfer", argument="+4420", source="marker", accepted=False),
        CommandExecuted(command="press", argument="12#", source="marker"),
    ]
