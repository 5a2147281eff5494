"""The call read side (SPEC §3 Calls): list, detail, transcript, event log, recordings, isolation, and
projections that survive re-application. Driven by call events published onto the log."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from phony import recordings
from phony.config import Settings
from phony.events import EventEnvelope, payload_of, utcnow
from phony.events.calls import (
    CALL_EVENTS,
    CallAnswered,
    CallRinging,
    LatencyMeasured,
    ResponseInterrupted,
    SupervisorTextSent,
)
from phony.projections.calls import HANDLERS
from phony.projections.documents import mongo_client
from tests.call_events import (
    CallScript,
    EventPublisher,
    ai_said,
    bound_read_models,
    event_publisher,
    every_call_event,
    projected,
    said,
)
from tests.calls import decode_wav
from tests.support import PhonyProcess, TenantHandle, eventually


@pytest.fixture(scope="module")
async def publisher(settings: Settings, phony: PhonyProcess) -> AsyncIterator[EventPublisher]:
    async with event_publisher(settings) as events:
        yield events


@pytest.fixture(scope="module")
async def database(settings: Settings) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = mongo_client(settings)
    try:
        yield client[settings.mongodb_db]
    finally:
        await client.close()


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_inbound_call_rings_then_is_in_progress_then_completed(
    tenant: TenantHandle, publisher: EventPublisher
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.started(direction="inbound")
    assert (await projected(tenant.client, call.sid, 1))["status"] == "ringing"
    await call.add(CallAnswered())
    assert (await projected(tenant.client, call.sid, 2))["status"] == "in-progress"
    await call.ended("caller_hangup")
    assert (await projected(tenant.client, call.sid, 3))["status"] == "completed"


async def test_outbound_call_is_queued_until_it_rings(
    tenant: TenantHandle, publisher: EventPublisher
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.started(direction="outbound")
    assert (await projected(tenant.client, call.sid, 1))["status"] == "queued"
    await call.add(CallRinging())
    assert (await projected(tenant.client, call.sid, 2))["status"] == "ringing"


async def test_call_detail_has_parties_agent_timestamps_duration_and_end_reason(
    tenant: TenantHandle, publisher: EventPublisher
) -> None:
    call = CallScript(publisher, tenant.id)
    started = await call.started(agent_id="agent_1", scenario="support", metadata={"order": "42"})
    await call.add(CallRinging())
    [answered] = await call.add(CallAnswered())
    await call.add(said("caller", "hello"))
    ended = await call.ended("ai_ended", duration=61.25)
    body = await projected(tenant.client, call.sid, ended.seq)
    assert body["call_sid"] == call.sid
    assert (body["direction"], body["from"], body["to"]) == ("inbound", "+15551230001", "+15559870002")
    assert (body["agent_id"], body["scenario"], body["metadata"]) == ("agent_1", "support", {"order": "42"})
    assert at(body["created_at"]) == started.timestamp
    assert at(body["answered_at"]) == answered.timestamp
    assert at(body["ended_at"]) == ended.timestamp
    assert (body["status"], body["duration"], body["end_reason"]) == ("completed", 61.25, "ai_ended")
    assert body["last_seq"] == 5


@pytest.mark.parametrize(
    ("reason", "status"),
    [("busy", "busy"), ("no_answer", "no-answer"), ("canceled", "canceled"), ("model_error", "failed")],
)
async def test_ended_call_takes_the_status_of_its_end_reason(
    tenant: TenantHandle, publisher: EventPublisher, reason: str, status: str
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.started(direction="outbound")
    await call.ended(reason, duration=0)
    assert (await projected(tenant.client, call.sid, 2))["status"] == status


async def test_late_ringing_does_not_take_an_answered_call_back(
    tenant: TenantHandle, publisher: EventPublisher
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.started()
    await call.add(CallAnswered(), CallRinging())
    assert (await projected(tenant.client, call.sid, 3))["status"] == "in-progress"


async def test_list_is_newest_first_and_paginates(tenant: TenantHandle, publisher: EventPublisher) -> None:
    base = utcnow()
    calls = [CallScript(publisher, tenant.id, start=base + timedelta(minutes=i)) for i in range(3)]
    for call in calls:
        await call.started()
    for call in calls:
        await projected(tenant.client, call.sid, 1)
    first = (await tenant.client.get("/calls/", params={"limit": 2})).json()
    assert (first["total"], first["limit"], first["offset"]) == (3, 2, 0)
    assert [c["call_sid"] for c in first["calls"]] == [calls[2].sid, calls[1].sid]
    rest = (await tenant.client.get("/calls/", params={"limit": 2, "offset": 2})).json()
    assert [c["call_sid"] for c in rest["calls"]] == [calls[0].sid]


async def test_list_filters_by_status_agent_and_direction(
    tenant: TenantHandle, publisher: EventPublisher
) -> None:
    done, out, ringing = (CallScript(publisher, tenant.id) for _ in range(3))
    await done.started(agent_id="agent_a")
    await done.ended("completed")
    await out.started(direction="outbound", agent_id="agent_b")
    await ringing.started(agent_id="agent_b")
    for call in (done, out, ringing):
        await projected(tenant.client, call.sid, len(call.events))

    async def sids(**params: str) -> set[str]:
        body = (await tenant.client.get("/calls/", params=params)).json()
        assert body["total"] == len(body["calls"])
        return {c["call_sid"] for c in body["calls"]}

    assert await sids(status="ringing") == {ringing.sid}
    assert await sids(agent_id="agent_b") == {out.sid, ringing.sid}
    assert await sids(direction="outbound") == {out.sid}
    assert await sids(status="completed", direction="inbound") == {done.sid}


async def test_list_filters_by_when_calls_were_created(
    tenant: TenantHandle, publisher: EventPublisher
) -> None:
    nine, ten, eleven = (
        CallScript(publisher, tenant.id, start=at(f"2031-03-01T{hour:02d}:00:00+00:00"))
        for hour in (9, 10, 11)
    )
    for call in (nine, ten, eleven):
        await call.started()
        await projected(tenant.client, call.sid, 1)

    async def sids(**params: str) -> list[str]:
        r = await tenant.client.get("/calls/", params=params)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == len(r.json()["calls"])
        return [c["call_sid"] for c in r.json()["calls"]]

    assert await sids(created_since="2031-03-01T10:00:00Z") == [eleven.sid, ten.sid]
    assert await sids(created_before="2031-03-01T10:00:00Z", created_since="2031-01-01") == [nine.sid]
    span = {"created_since": "2031-03-01T11:00:00+01:00", "created_before": "2031-03-01T10:00:00.5Z"}
    assert await sids(**span) == [ten.sid]  # 10:00 UTC written with an offset
    assert await sids(created_since="2031-03-01", created_before="2031-03-02", status="ringing") == [
        eleven.sid,
        ten.sid,
        nine.sid,
    ]


@pytest.mark.parametrize(
    "value",
    ["yesterday", "1700000000", "0.5", "2031-13-01", "2031-03-01T10:00:00", "0001-01-01T00:00:00+01:00"],
)
async def test_list_refuses_a_time_it_cannot_read(tenant: TenantHandle, value: str) -> None:
    r = await tenant.client.get("/calls/", params={"created_since": value})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == "created_since"


async def test_list_refuses_an_unknown_status(tenant: TenantHandle) -> None:
    r = await tenant.client.get("/calls/", params={"status": "exploded"})
    assert r.status_code == 422
    assert r.json()["error"]["details"]["field"] == "status"


async def test_transcript_has_caller_ai_and_supervisor_lines_in_order(
    tenant: TenantHandle, publisher: EventPublisher
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.answered_call()
    url = f"http://phony.test/calls/{call.sid}/responses/resp_1/audio"
    await call.add(
        said("caller", "I was charged twice"),
        ai_said("resp_1", "Let me check that for you", url),
        LatencyMeasured(metric="voice_to_voice", ms=640.0),
        SupervisorTextSent(text="We will refund the second charge"),
        said("caller", "Thank you"),
        ResponseInterrupted(response_id="resp_1", played_ms=900),
    )
    await projected(tenant.client, call.sid, len(call.events))
    body = (await tenant.client.get(f"/calls/{call.sid}/transcript")).json()
    lines = [(e["seq"], e["speaker"], e["text"]) for e in body["entries"]]
    assert lines == [
        (5, "caller", "I was charged twice"),
        (6, "ai", "Let me check that for you"),
        (8, "supervisor", "We will refund the second charge"),
        (9, "caller", "Thank you"),
    ]
    ai = body["entries"][1]
    assert (ai["response_id"], ai["audio_url"], ai["interrupted"]) == ("resp_1", url, True)
    assert at(ai["timestamp"]) == call.events[5].timestamp


async def test_events_since_returns_the_later_events_in_seq_order_across_pages(
    tenant: TenantHandle, publisher: EventPublisher
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.answered_call()
    await call.add(*(said("caller", f"line {i}") for i in range(56)))
    await projected(tenant.client, call.sid, 60)
    later = (await tenant.client.get(f"/calls/{call.sid}/events", params={"since": 45})).json()
    assert later["events"] == [e.public() for e in call.events[45:]]
    everything = (await tenant.client.get(f"/calls/{call.sid}/events")).json()
    assert [e["seq"] for e in everything["events"]] == list(range(1, 61))
    assert everything["events"][0]["type"] == "call.started"


async def test_recording_is_a_stereo_wav_with_each_track_at_its_start(
    tenant: TenantHandle, publisher: EventPublisher, database: AsyncDatabase[dict[str, Any]]
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.answered_call()
    await projected(tenant.client, call.sid, 4)
    # 100 ms of the loudest negative μ-law sample; 50 ms of the loudest positive one, half a second in
    caller = recordings.caller_segment(call.sid, tenant.id, 1, 0, b"\x00" * 800)
    ai = recordings.ai_segment(call.sid, tenant.id, "resp_1", 500, b"\x80" * 400)
    for segment in (caller, ai):
        await recordings.save(database, segment)
    r = await tenant.client.get(f"/calls/{call.sid}/recording")
    assert r.status_code == 200
    assert r.headers["content-type"] == "audio/wav"
    channels, rate, (left, right) = decode_wav(r.content)
    assert (channels, rate, len(left)) == (2, 8000, 4400)
    assert left == (-32124,) * 800 + (0,) * 3600
    assert right == (0,) * 4000 + (32124,) * 400


async def test_an_audio_segment_saved_twice_is_stored_once(
    tenant: TenantHandle, database: AsyncDatabase[dict[str, Any]]
) -> None:
    sid = "CA" + uuid.uuid4().hex
    segment = recordings.caller_segment(sid, tenant.id, 0, 0, b"\xff" * 160)
    await recordings.save(database, segment)
    await recordings.save(database, segment)  # a redelivered write
    assert await recordings.load_call(database, sid) == [segment]


async def test_recording_of_a_call_without_audio_is_404(
    tenant: TenantHandle, publisher: EventPublisher
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.started()
    await projected(tenant.client, call.sid, 1)
    r = await tenant.client.get(f"/calls/{call.sid}/recording")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"


async def test_ai_response_audio_url_serves_that_response_as_mono_wav(
    tenant: TenantHandle, publisher: EventPublisher, database: AsyncDatabase[dict[str, Any]]
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.answered_call()
    audio = bytes([0x00, 0x80, 0xFF, 0x7F]) * 40
    await recordings.save(database, recordings.ai_segment(call.sid, tenant.id, "resp_9", 1200, audio))
    url = f"http://phony.test/calls/{call.sid}/responses/resp_9/audio"
    await call.add(ai_said("resp_9", "Your order ships today", url))
    await projected(tenant.client, call.sid, 5)
    [line] = (await tenant.client.get(f"/calls/{call.sid}/transcript")).json()["entries"]
    r = await tenant.client.get(httpx.URL(line["audio_url"]).path)
    assert (r.status_code, r.headers["content-type"]) == (200, "audio/wav")
    channels, rate, [samples] = decode_wav(r.content)
    assert (channels, rate) == (1, 8000)
    assert samples == (-32124, 32124, 0, 0) * 40
    missing = await tenant.client.get(f"/calls/{call.sid}/responses/resp_0/audio")
    assert missing.status_code == 404


async def test_audio_links_open_with_the_key_as_token_and_no_header(
    tenant: TenantHandle, publisher: EventPublisher, database: AsyncDatabase[dict[str, Any]]
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.answered_call()
    await projected(tenant.client, call.sid, 4)
    await recordings.save(database, recordings.ai_segment(call.sid, tenant.id, "resp_1", 0, b"\x80" * 160))
    async with httpx.AsyncClient(base_url=str(tenant.client.base_url)) as browser:  # sends no header
        for path in (f"/calls/{call.sid}/responses/resp_1/audio", f"/calls/{call.sid}/recording"):
            opened = await browser.get(path, params={"token": tenant.key})
            assert (opened.status_code, opened.headers["content-type"]) == (200, "audio/wav"), path
            refused = await browser.get(path, params={"token": "pk_live_forged"})
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "UNAUTHORIZED"
            assert (await browser.get(path)).status_code == 401


async def test_another_tenants_call_is_not_found_on_every_route(
    tenant: TenantHandle, other_tenant: TenantHandle, publisher: EventPublisher
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.answered_call()
    await projected(tenant.client, call.sid, 4)
    for tail in ("", "/transcript", "/events", "/recording", "/responses/resp_1/audio"):
        r = await other_tenant.client.get(f"/calls/{call.sid}{tail}")
        assert r.status_code == 404, tail
        assert r.json()["error"]["code"] == "NOT_FOUND"
    listed = (await other_tenant.client.get("/calls/")).json()
    assert call.sid not in {c["call_sid"] for c in listed["calls"]}


async def test_unknown_call_is_404_in_the_error_envelope(tenant: TenantHandle) -> None:
    r = await tenant.client.get("/calls/CA0000000000000000000000000000dead")
    assert r.status_code == 404
    assert r.json()["error"] == {
        "code": "NOT_FOUND",
        "message": "call not found",
        "details": {"call_sid": "CA0000000000000000000000000000dead"},
    }


async def test_unrouted_call_is_recorded_but_no_tenant_sees_it(
    tenant: TenantHandle, publisher: EventPublisher, database: AsyncDatabase[dict[str, Any]]
) -> None:
    call = CallScript(publisher, "_unrouted")
    await call.started()
    await call.ended("no_agent", duration=3)

    async def stored() -> dict[str, Any] | None:
        return await database["calls"].find_one({"_id": call.sid})

    doc = await eventually(stored, lambda d: d is not None and d["last_seq"] == 2)
    assert doc is not None
    assert (doc["tenant_id"], doc["status"], doc["end_reason"]) == ("_unrouted", "failed", "no_agent")
    assert (await tenant.client.get(f"/calls/{call.sid}")).status_code == 404


async def test_reapplying_any_call_event_leaves_the_read_models_unchanged(settings: Settings) -> None:
    """The projector may apply an event twice when it crashes between a handler and storing the
    event's copy: every call handler must leave the same documents the second time."""
    scratch = settings.model_copy(update={"mongodb_db": f"reapply_{uuid.uuid4().hex[:8]}"})
    events = every_call_event("tenant_x")
    assert {e.type for e in events} == {cls.TYPE for cls in CALL_EVENTS}
    client: AsyncMongoClient[dict[str, Any]] = mongo_client(scratch)
    db = client[scratch.mongodb_db]

    async def snapshot() -> dict[str, list[dict[str, Any]]]:
        return {
            name: await db[name].find({}).sort("_id", 1).to_list(None) for name in ("calls", "call_events")
        }

    try:
        async with bound_read_models(scratch):
            for event in events:
                await apply_handler(event)
                once = await snapshot()
                if event.seq == 1:
                    with pytest.raises(DuplicateKeyError):  # the projector's sign of "applied before"
                        await apply_handler(event)
                else:
                    await apply_handler(event)
                assert await snapshot() == once, event.type
    finally:
        await client.drop_database(scratch.mongodb_db)
        await client.close()


async def apply_handler(event: EventEnvelope) -> None:
    await HANDLERS[event.type](event, payload_of(event))
