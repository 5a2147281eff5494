"""Driving the call read side without a call flow: a call's events published onto the session's events
topic with the product's own producer and codec, as a worker would write them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
from faststream.kafka import KafkaBroker

from phony.config import Settings
from phony.events import EventData, EventEnvelope, envelope_for, utcnow
from phony.events.calls import (
    AiResponse,
    CallAnswered,
    CallEnded,
    CallRinging,
    CallStarted,
    CallTransferred,
    ClarificationAnswered,
    ClarificationRequested,
    CommandExecuted,
    DtmfReceived,
    DtmfSent,
    ErrorOccurred,
    LatencyMeasured,
    MediaStarted,
    ResponseApproved,
    ResponseInterrupted,
    ResponsePendingApproval,
    SpeechDetected,
    SupervisorTextSent,
)
from phony.events.log import Topics, make_broker
from phony.projections.documents import init_read_models, mongo_client
from tests.support import eventually


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


class EventPublisher:
    """Publishes envelopes to the events topic keyed by aggregate id (so a call's events keep order)."""

    def __init__(self, settings: Settings, broker: KafkaBroker) -> None:
        self._broker = broker
        self._topic = Topics.of(settings).events

    async def publish(self, *events: EventEnvelope) -> None:
        for event in events:
            await self._broker.publish(event.to_json(), self._topic, key=event.aggregate_id.encode())


@asynccontextmanager
async def event_publisher(settings: Settings) -> AsyncIterator[EventPublisher]:
    broker = make_broker(settings, "test-call-events")
    await broker.start()
    try:
        yield EventPublisher(settings, broker)
    finally:
        await broker.stop()


class CallScript:
    """One call's events, numbered from seq 1 and stamped one second apart from ``start``."""

    def __init__(
        self, publisher: EventPublisher, tenant_id: str, sid: str | None = None, start: datetime | None = None
    ) -> None:
        self.publisher = publisher
        self.tenant_id = tenant_id
        self.sid = sid or new_sid()
        self.start = start or utcnow()
        self.events: list[EventEnvelope] = []

    def envelope(self, payload: EventData, seq: int | None = None) -> EventEnvelope:
        """The next event (or the one at ``seq``) without publishing it."""
        seq = seq if seq is not None else len(self.events) + 1
        return envelope_for(
            payload,
            aggregate_id=self.sid,
            tenant_id=self.tenant_id,
            seq=seq,
            timestamp=self.start + timedelta(seconds=seq - 1),
        )

    async def add(self, *payloads: EventData) -> list[EventEnvelope]:
        """Publish the next events of the call, in order."""
        made = []
        for payload in payloads:
            event = self.envelope(payload)
            self.events.append(event)
            made.append(event)
        await self.publisher.publish(*made)
        return made

    async def started(self, direction: str = "inbound", **fields: Any) -> EventEnvelope:
        body: dict[str, Any] = {
            "callSid": self.sid,
            "from": "+15551230001",
            "to": "+15559870002",
            "timestamp": self.start.isoformat(),
            "direction": direction,
            "agent_id": None,
            **fields,
        }
        [event] = await self.add(CallStarted.model_validate(body))
        return event

    async def answered_call(self) -> None:
        """started (inbound), ringing, answered, media started."""
        await self.started()
        await self.add(CallRinging(), CallAnswered(), MediaStarted(stream_sid="MZ" + uuid.uuid4().hex))

    async def ended(self, reason: str = "caller_hangup", duration: float = 42.5) -> EventEnvelope:
        [event] = await self.add(
            CallEnded.model_validate({"callSid": self.sid, "duration": duration, "reason": reason})
        )
        return event


def said(speaker: str, text: str) -> SpeechDetected:
    return SpeechDetected.model_validate({"speaker": speaker, "text": text, "confidence": 0.9})


def ai_said(response_id: str, text: str, audio_url: str | None = None) -> AiResponse:
    return AiResponse(response_id=response_id, text=text, audio_url=audio_url, model="gpt-realtime")


def every_call_event(tenant_id: str) -> list[EventEnvelope]:
    """One event of every call event type, in an order a call could have them (not published)."""
    sid, start = new_sid(), utcnow()
    payloads: list[EventData] = [
        CallStarted.model_validate(
            {"callSid": sid, "from": "+15551230001", "to": "+15559870002", "timestamp": start.isoformat()}
            | {"direction": "inbound", "agent_id": "agent_1", "metadata": {"k": "v"}}
        ),
        CallRinging(),
        CallAnswered(),
        MediaStarted(stream_sid="MZ1"),
        said("caller", "hello"),
        ResponsePendingApproval(response_id="resp_1", text="Hi there"),
        ResponseApproved(response_id="resp_1", text="Hi there"),
        ai_said("resp_1", "Hi there", "http://phony.test/audio"),
        ResponseInterrupted(response_id="resp_1", played_ms=300),
        LatencyMeasured(metric="voice_to_voice", ms=512.5),
        ClarificationRequested(question="Refund allowed?"),
        ClarificationAnswered(response="yes"),
        SupervisorTextSent(text="One moment"),
        DtmfReceived(digit="5"),
        CommandExecuted(command="press", argument="12#", source="marker"),
        DtmfSent(digits="12#", by="ai"),
        ErrorOccurred(error_type="model", message="slow", code="E_SLOW"),
        CommandExecuted(command="transfer", argument="+15550001111", source="tool"),
        CallTransferred(target="+15550001111", by="ai"),
        CallEnded.model_validate({"callSid": sid, "duration": 30.0, "reason": "transferred"}),
    ]
    return [
        envelope_for(p, aggregate_id=sid, tenant_id=tenant_id, seq=i, timestamp=start + timedelta(seconds=i))
        for i, p in enumerate(payloads, start=1)
    ]


async def projected(client: httpx.AsyncClient, sid: str, seq: int) -> dict[str, Any]:
    """The call as the API shows it once its event ``seq`` is projected."""
    return await projected_until(client, sid, lambda call: call["last_seq"] >= seq)


async def projected_until(
    client: httpx.AsyncClient, sid: str, condition: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The call as the API shows it once it meets ``condition`` (the read model follows the log)."""

    async def probe() -> httpx.Response:
        return await client.get(f"/calls/{sid}")

    response = await eventually(probe, lambda r: r.status_code == 200 and condition(r.json()))
    body: dict[str, Any] = response.json()
    return body


@asynccontextmanager
async def bound_read_models(settings: Settings) -> AsyncIterator[None]:
    """The Beanie documents bound, in this test process, to ``settings``' database (to drive the
    projection code directly)."""
    client = mongo_client(settings)
    try:
        await init_read_models(client, settings)
        yield
    finally:
        await client.close()
