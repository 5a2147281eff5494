"""Twilio's side of the edge: signatures on webhooks and on the media socket, bad media input, and
webhooks for calls Phony does not know."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from phony.config import Settings
from phony.sim.twilio import TwilioSim
from tests.calls import call_events, of_type, wait_for_event
from tests.support import PhonyProcess, TenantHandle, agent_body, eventually, unique_number


def signed(token: str, url: str, params: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)}


async def test_unsigned_or_forged_webhooks_are_403(phony: PhonyProcess, twilio_sim: TwilioSim) -> None:
    params = {
        "CallSid": "CAforged",
        "From": "+15550001111",
        "To": "+15550002222",
        "AccountSid": twilio_sim.account_sid,
    }
    async with httpx.AsyncClient(base_url=phony.url) as client:
        for path in ("/receive_call", "/start_call", "/status_callback"):
            unsigned = await client.post(path, data=params)
            assert unsigned.status_code == 403, path
            assert unsigned.json()["error"]["code"] == "FORBIDDEN"
            forged = await client.post(
                path, data=params, headers=signed("not-the-token", phony.url + path, params)
            )
            assert forged.status_code == 403, path
        # Signed, but a parameter changed afterwards.
        headers = signed(twilio_sim.auth_token, phony.url + "/receive_call", params)
        tampered = await client.post("/receive_call", data={**params, "To": "+15559999999"}, headers=headers)
        assert tampered.status_code == 403


async def test_signed_webhook_missing_parameters_is_400(phony: PhonyProcess, twilio_sim: TwilioSim) -> None:
    params = {"AccountSid": twilio_sim.account_sid, "From": "+15550001111"}
    async with httpx.AsyncClient(base_url=phony.url) as client:
        r = await client.post(
            "/receive_call",
            data=params,
            headers=signed(twilio_sim.auth_token, phony.url + "/receive_call", params),
        )
    assert r.status_code == 400
    assert r.json()["error"]["details"]["field"] == "CallSid"


async def test_media_socket_without_a_valid_signature_is_refused(phony: PhonyProcess) -> None:
    url = phony.url.replace("http://", "ws://") + "/media/ws"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url):
            pass
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        async with connect(url, additional_headers={"X-Twilio-Signature": "bogus"}):
            pass


async def test_status_callback_for_an_unknown_call_changes_nothing(
    phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    params = {"CallSid": "CAunknown0000", "CallStatus": "completed", "AccountSid": twilio_sim.account_sid}
    url = phony.url + "/status_callback"
    async with httpx.AsyncClient() as client:
        r = await client.post(url, data=params, headers=signed(twilio_sim.auth_token, url, params))
    assert r.status_code == 204
    assert await call_events(settings, "CAunknown0000") == []


async def answer_inbound(tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim) -> str:
    """Ring Phony as Twilio does for an inbound call with no status callback; the call's sid."""
    number = unique_number()
    await tenant.client.post("/agents/", json=agent_body(phone_numbers=[number]))
    sid = "CA" + uuid.uuid4().hex
    params = {"CallSid": sid, "From": "+15550003333", "To": number, "AccountSid": twilio_sim.account_sid}
    async with httpx.AsyncClient() as client:
        url = phony.url + "/receive_call"
        answer = await client.post(url, data=params, headers=signed(twilio_sim.auth_token, url, params))
    assert answer.status_code == 200
    assert "<Connect><Stream" in answer.text
    return sid


async def start_stream(ws: ClientConnection, sid: str, twilio_sim: TwilioSim) -> None:
    await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    start: dict[str, object] = {"callSid": sid, "streamSid": "MZtest", "accountSid": twilio_sim.account_sid}
    start["customParameters"] = {}
    message = {"event": "start", "sequenceNumber": "1", "streamSid": "MZtest", "start": start}
    await ws.send(json.dumps(message))


def media_socket(phony: PhonyProcess, twilio_sim: TwilioSim) -> connect:
    ws_url = phony.url.replace("http://", "ws://") + "/media/ws"
    return connect(ws_url, additional_headers=signed(twilio_sim.auth_token, ws_url, {}))


async def test_a_started_stream_answers_a_call_whose_status_callback_has_not_come(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    sid = await answer_inbound(tenant, phony, twilio_sim)
    async with media_socket(phony, twilio_sim) as ws:
        await start_stream(ws, sid, twilio_sim)
        events = await wait_for_event(settings, sid, "media.started")
        assert [e.type for e in events] == ["call.started", "call.answered", "media.started"]
        await ws.send(json.dumps({"event": "stop", "sequenceNumber": "2", "streamSid": "MZtest", "stop": {}}))
        await ws.wait_closed()
    await wait_for_event(settings, sid, "call.ended")


async def test_malformed_and_out_of_order_media_are_recorded_and_the_call_ends_cleanly(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    sid = await answer_inbound(tenant, phony, twilio_sim)
    async with media_socket(phony, twilio_sim) as ws:
        await start_stream(ws, sid, twilio_sim)
        await wait_for_event(settings, sid, "media.started")
        frame = {"track": "inbound", "chunk": "1", "timestamp": "20", "payload": "//8="}
        await ws.send(
            json.dumps({"event": "media", "sequenceNumber": "3", "streamSid": "MZtest", "media": frame})
        )
        await ws.send(
            json.dumps({"event": "media", "sequenceNumber": "2", "streamSid": "MZtest", "media": frame})
        )
        await ws.send("{not json")
        empty = {"event": "media", "sequenceNumber": "5", "streamSid": "MZtest", "media": {}}
        await ws.send(json.dumps(empty))
        await ws.send(json.dumps({"event": "dtmf", "streamSid": "MZtest", "dtmf": {"digit": "x"}}))
        await ws.send(json.dumps({"event": "stop", "sequenceNumber": "4", "streamSid": "MZtest", "stop": {}}))
        # As Twilio does: after stop, let the server close (closing first races its audio sends).
        await ws.wait_closed()

    async def errors() -> set[str]:
        return {e.data["code"] for e in of_type(await call_events(settings, sid), "error.occurred")}

    expected = {"OUT_OF_ORDER", "MALFORMED", "MALFORMED_MEDIA", "INVALID"}
    assert await eventually(errors, lambda c: expected <= c, within=40)
    events = await wait_for_event(settings, sid, "call.ended")
    assert [e.data["reason"] for e in of_type(events, "call.ended")] == ["caller_hangup"]


async def test_a_stream_for_a_call_phony_does_not_know_is_closed(
    phony: PhonyProcess, twilio_sim: TwilioSim
) -> None:
    async with media_socket(phony, twilio_sim) as ws:
        await start_stream(ws, "CA" + uuid.uuid4().hex, twilio_sim)
        await asyncio.wait_for(ws.wait_closed(), 20)
    assert (ws.close_code, ws.close_reason) == (1008, "unknown call")


async def test_media_before_start_closes_the_socket(phony: PhonyProcess, twilio_sim: TwilioSim) -> None:
    async with media_socket(phony, twilio_sim) as ws:
        frame = {"track": "inbound", "chunk": "1", "timestamp": "20", "payload": "//8="}
        await ws.send(
            json.dumps({"event": "media", "sequenceNumber": "2", "streamSid": "MZx", "media": frame})
        )
        await ws.wait_closed()
    assert ws.close_code == 1008
