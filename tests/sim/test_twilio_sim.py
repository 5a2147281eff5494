"""The fake Twilio, driven through the real ``twilio`` REST client and real sockets.

A small Starlette app stands in for the product's webhooks (TwiML, status callbacks) and a small
websockets server for its media endpoint; every request the sim makes is checked with the ``twilio``
package's own ``RequestValidator``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from phony.sim.audio import FRAME_BYTES, rms, speech
from phony.sim.scenarios import SCENARIOS, speech_ms
from phony.sim.twilio import (
    BUSY_NUMBER,
    FAILED_NUMBER,
    MEDIA_RECEIVED,
    MEDIA_SENT,
    NO_ANSWER_NUMBER,
    RedirectingAsyncHttpClient,
    SimTimings,
    TwilioSim,
    compute_signature,
)

WAIT_S = 10.0
FROM = "+15017122661"
TO = "+14155551212"
FAST = SimTimings(ring_ms=50, no_answer_ring_ms=100, dial_talk_ms=100, dtmf_digit_ms=10, dtmf_wait_ms=50)
RFC2822 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")
SPEECH_RMS = 50.0  # a frame louder than this is the party speaking (silence decodes to 0)


# -- stand-ins for the product -----------------------------------------------------------------


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@contextlib.asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """Serve ``app`` on a free local port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = _QuietServer(uvicorn.Config(app, log_level="warning", lifespan="off"))
    sock.listen()  # connections wait in the backlog until uvicorn accepts them: no start-up race
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


@dataclass(frozen=True)
class Hit:
    """One request the sim made to the product stand-in."""

    path: str
    url: str
    params: dict[str, str]
    signature: str
    at: float


@dataclass
class StandIn:
    """The product's webhooks: TwiML by path, everything else answered 204; every request queued."""

    twiml: dict[str, str] = field(default_factory=dict)
    hits: asyncio.Queue[Hit] = field(default_factory=asyncio.Queue)
    base_url: str = ""

    async def handle(self, request: Request) -> Response:
        body = (await request.body()).decode()
        params = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        signature = request.headers.get("x-twilio-signature", "")
        self.hits.put_nowait(Hit(request.url.path, str(request.url), params, signature, time.monotonic()))
        if request.url.path in self.twiml:
            return Response(self.twiml[request.url.path], media_type="text/xml")
        return Response(status_code=204)

    async def next_hit(self, path: str) -> Hit:
        """The next request to ``path`` (requests to other paths are dropped)."""
        async with asyncio.timeout(WAIT_S):
            while True:
                hit = await self.hits.get()
                if hit.path == path:
                    return hit

    def url(self, path: str) -> str:
        return self.base_url + path


@dataclass
class MediaConn:
    """One media WebSocket the sim opened to the stand-in."""

    ws: ServerConnection
    inbox: asyncio.Queue[tuple[float, dict[str, Any]]] = field(default_factory=asyncio.Queue)

    @property
    def signature(self) -> str:
        assert self.ws.request is not None
        return self.ws.request.headers.get("X-Twilio-Signature", "")

    async def next(self) -> dict[str, Any]:
        """The next message from the sim."""
        return (await self.next_timed())[1]

    async def next_timed(self) -> tuple[float, dict[str, Any]]:
        async with asyncio.timeout(WAIT_S):
            return await self.inbox.get()

    async def next_event(self, event: str) -> dict[str, Any]:
        """The next message of type ``event``, skipping others (mostly media)."""
        while True:
            message = await self.next()
            if message["event"] == event:
                return message

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))


@dataclass
class MediaServer:
    """The product's media endpoint: accepts every stream and records what arrives."""

    connections: asyncio.Queue[MediaConn] = field(default_factory=asyncio.Queue)
    url: str = ""

    async def handler(self, ws: ServerConnection) -> None:
        conn = MediaConn(ws)
        self.connections.put_nowait(conn)
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                conn.inbox.put_nowait((time.monotonic(), json.loads(raw)))
        conn.inbox.put_nowait((time.monotonic(), {"event": "<closed>"}))

    async def next_connection(self) -> MediaConn:
        async with asyncio.timeout(WAIT_S):
            return await self.connections.get()

    async def accept_started(self) -> tuple[MediaConn, dict[str, Any]]:
        """The next stream, read up to its ``start`` message."""
        conn = await self.next_connection()
        assert (await conn.next())["event"] == "connected"
        return conn, await conn.next()


def stream_twiml(url: str, scenario: str = "default", **extra: str) -> str:
    params = {"scenario": scenario, **extra}
    tags = "".join(f'<Parameter name="{k}" value="{v}"/>' for k, v in params.items())
    return f'<Response><Connect><Stream url="{url}">{tags}</Stream></Connect></Response>'


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    stand_in = StandIn()
    app = Starlette(routes=[Route("/{path:path}", stand_in.handle, methods=["GET", "POST"])])
    async with serving(app) as base_url:
        stand_in.base_url = base_url
        yield stand_in


@pytest.fixture
async def media() -> AsyncIterator[MediaServer]:
    server = MediaServer()
    async with serve(server.handler, "127.0.0.1", 0) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        server.url = f"ws://127.0.0.1:{port}/media"
        yield server


SimFactory = Callable[..., Awaitable[TwilioSim]]


@pytest.fixture
async def make_sim(standin: StandIn, media: MediaServer) -> AsyncIterator[SimFactory]:
    """Start sims (torn down before the stand-ins they call)."""
    started: list[TwilioSim] = []

    async def make(**kwargs: Any) -> TwilioSim:
        sim = TwilioSim(timings=kwargs.pop("timings", FAST), **kwargs)
        await sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        await sim.stop()
        assert sim.task_errors == []


@pytest.fixture
async def sim(make_sim: SimFactory) -> TwilioSim:
    return await make_sim()


async def create_call(sim: TwilioSim, **kwargs: Any) -> Any:
    """``client.calls.create`` through the real (blocking) twilio client."""
    return await asyncio.to_thread(sim.rest_client().calls.create, **kwargs)


async def update_call(sim: TwilioSim, sid: str, **kwargs: Any) -> Any:
    return await asyncio.to_thread(sim.rest_client().calls(sid).update, **kwargs)


async def streaming_call(
    sim: TwilioSim, media: MediaServer, scenario: str = "default"
) -> tuple[str, MediaConn]:
    """An outbound call whose TwiML connects a stream; returns once ``start`` arrived."""
    call = await create_call(sim, to=TO, from_=FROM, twiml=stream_twiml(media.url, scenario))
    conn, _ = await media.accept_started()
    return call.sid, conn


def is_speech(message: dict[str, Any]) -> bool:
    return rms(base64.b64decode(message["media"]["payload"])) > SPEECH_RMS


async def next_media(conn: MediaConn, speaking: bool) -> tuple[float, dict[str, Any]]:
    """The next media frame that is (or is not) the party speaking, with its arrival time."""
    while True:
        at, message = await conn.next_timed()
        if message["event"] == "media" and is_speech(message) == speaking:
            return at, message


def audio_messages(stream_sid: str, audio: bytes) -> list[dict[str, Any]]:
    return [
        {"event": "media", "streamSid": stream_sid, "media": {"payload": base64.b64encode(chunk).decode()}}
        for chunk in (audio[i : i + FRAME_BYTES] for i in range(0, len(audio), FRAME_BYTES))
    ]


# -- signatures ------------------------------------------------------------------------------

VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}


def test_signature_matches_published_vector() -> None:
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert compute_signature("12345", url, VECTOR_PARAMS) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_signature_with_default_port_matches_published_vector() -> None:
    url = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    assert compute_signature("12345", url, VECTOR_PARAMS) == "kvajT1Ptam85bY51eRf/AJRuM3w="


def test_redirecting_client_rewrites_only_the_twilio_api_prefix() -> None:
    from phony.sim.twilio import redirect_url

    base = "http://127.0.0.1:9999"
    assert redirect_url("https://api.twilio.com/2010-04-01/Accounts/AC1/Calls.json", base) == (
        base + "/2010-04-01/Accounts/AC1/Calls.json"
    )
    assert (
        redirect_url("https://api.twilio.com.evil.example/x", base) == "https://api.twilio.com.evil.example/x"
    )


# -- REST ------------------------------------------------------------------------------------


async def test_create_call_through_twilio_client_returns_queued_outbound_call(sim: TwilioSim) -> None:
    call = await create_call(sim, to=TO, from_=FROM, twiml="<Response><Pause length='5'/></Response>")
    assert re.fullmatch(r"CA[0-9a-f]{32}", call.sid)
    assert (call.account_sid, call.to, call._from) == (sim.account_sid, TO, FROM)
    assert (call.status, call.direction, call.duration, call.end_time) == (
        "queued",
        "outbound-api",
        None,
        None,
    )
    assert call.date_created is not None
    assert call.uri == f"/2010-04-01/Accounts/{sim.account_sid}/Calls/{call.sid}.json"
    assert sim.calls[call.sid].status_history[0].status == "queued"


async def test_create_call_json_has_twilio_shape(sim: TwilioSim) -> None:
    async with httpx.AsyncClient(auth=(sim.account_sid, sim.auth_token)) as http:
        response = await http.post(
            f"{sim.base_url}/2010-04-01/Accounts/{sim.account_sid}/Calls.json",
            data={"To": TO, "From": FROM, "Twiml": "<Response><Pause length='5'/></Response>"},
        )
    assert response.status_code == 201
    body = response.json()
    expected_keys = {
        "account_sid", "annotation", "answered_by", "api_version", "caller_name", "date_created",
        "date_updated", "direction", "duration", "end_time", "forwarded_from", "from", "from_formatted",
        "group_sid", "parent_call_sid", "phone_number_sid", "price", "price_unit", "queue_time", "sid",
        "start_time", "status", "subresource_uris", "to", "to_formatted", "trunk_sid", "uri",
    }  # fmt: skip
    assert set(body) == expected_keys
    assert RFC2822.match(body["date_created"])
    assert RFC2822.match(body["date_updated"])
    assert (body["to_formatted"], body["api_version"], body["price_unit"]) == (
        "(415) 555-1212",
        "2010-04-01",
        "USD",
    )
    assert body["subresource_uris"]["recordings"] == body["uri"].removesuffix(".json") + "/Recordings.json"


async def test_fetch_call_reports_current_status(sim: TwilioSim) -> None:
    created = await create_call(sim, to=TO, from_=FROM, twiml="<Response><Pause length='5'/></Response>")
    await sim.wait_for_status(created.sid, "in-progress", WAIT_S)
    fetched = await asyncio.to_thread(sim.rest_client().calls(created.sid).fetch)
    assert (fetched.sid, fetched.status) == (created.sid, "in-progress")
    assert fetched.start_time is not None


async def test_update_status_completed_hangs_up_the_call(sim: TwilioSim) -> None:
    created = await create_call(sim, to=TO, from_=FROM, twiml="<Response><Pause length='30'/></Response>")
    await sim.wait_for_status(created.sid, "in-progress", WAIT_S)
    updated = await update_call(sim, created.sid, status="completed")
    assert updated.status == "completed"
    call = await sim.wait_for_call_end(created.sid, WAIT_S)
    assert (call.status, call.end_reason) == ("completed", "api-hangup")
    assert call.duration is not None


async def test_canceling_a_ringing_call_ends_it_canceled(make_sim: SimFactory) -> None:
    sim = await make_sim(timings=SimTimings(ring_ms=30_000))
    created = await create_call(sim, to=TO, from_=FROM, twiml="<Response><Hangup/></Response>")
    await sim.wait_for_status(created.sid, "ringing", WAIT_S)
    await update_call(sim, created.sid, status="canceled")
    call = await sim.wait_for_call_end(created.sid, WAIT_S)
    assert call.statuses == ["queued", "ringing", "canceled"]
    assert call.twiml == []


async def test_send_digits_are_played_when_the_call_is_answered(sim: TwilioSim) -> None:
    created = await create_call(
        sim, to=TO, from_=FROM, twiml="<Response><Hangup/></Response>", send_digits="ww12#"
    )
    call = await sim.wait_for_call_end(created.sid, WAIT_S)
    assert call.digits_played == "12#"


async def test_wrong_auth_token_is_refused_with_20003(sim: TwilioSim) -> None:
    from phony.sim.twilio import RedirectingHttpClient

    client = Client(sim.account_sid, "not-the-token", http_client=RedirectingHttpClient(sim.base_url))
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(client.calls.create, to=TO, from_=FROM, twiml="<Response/>")
    assert (caught.value.status, caught.value.code) == (401, 20003)


async def test_unknown_call_is_404_with_20404(sim: TwilioSim) -> None:
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(sim.rest_client().calls("CA" + "0" * 32).fetch)
    assert (caught.value.status, caught.value.code) == (404, 20404)


async def test_create_without_url_or_twiml_is_refused_with_21205(sim: TwilioSim) -> None:
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(sim.rest_client().calls.create, to=TO, from_=FROM)
    assert (caught.value.status, caught.value.code) == (400, 21205)


async def test_create_without_to_is_refused_with_21201(sim: TwilioSim) -> None:
    with pytest.raises(TwilioRestException) as caught:
        await asyncio.to_thread(sim.rest_client().calls.create, to="", from_=FROM, twiml="<Response/>")
    assert (caught.value.status, caught.value.code) == (400, 21201)


async def test_async_twilio_client_creates_call(sim: TwilioSim) -> None:
    async with RedirectingAsyncHttpClient(sim.base_url) as http_client:
        client = Client(sim.account_sid, sim.auth_token, http_client=http_client)
        call = await client.calls.create_async(to=TO, from_=FROM, twiml="<Response><Hangup/></Response>")
    assert call.sid in sim.calls


async def test_redirect_of_ended_call_is_refused_with_21220(sim: TwilioSim) -> None:
    created = await create_call(sim, to=TO, from_=FROM, twiml="<Response><Hangup/></Response>")
    await sim.wait_for_call_end(created.sid, WAIT_S)
    with pytest.raises(TwilioRestException) as caught:
        await update_call(sim, created.sid, twiml="<Response><Say>late</Say></Response>")
    assert (caught.value.status, caught.value.code) == (400, 21220)


# -- lifecycle and callbacks -----------------------------------------------------------------


async def test_status_callbacks_are_signed_numbered_and_in_order(sim: TwilioSim, standin: StandIn) -> None:
    created = await create_call(
        sim,
        to=TO,
        from_=FROM,
        twiml="<Response><Hangup/></Response>",
        status_callback=standin.url("/status"),
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )
    hits = [await standin.next_hit("/status") for _ in range(4)]
    validator = RequestValidator(sim.auth_token)
    assert all(validator.validate(h.url, h.params, h.signature) for h in hits)
    assert [h.params["CallStatus"] for h in hits] == ["initiated", "ringing", "in-progress", "completed"]
    assert [h.params["SequenceNumber"] for h in hits] == ["0", "1", "2", "3"]
    first, last = hits[0].params, hits[-1].params
    assert (first["CallSid"], first["AccountSid"], first["From"], first["To"]) == (
        created.sid,
        sim.account_sid,
        FROM,
        TO,
    )
    assert (first["Direction"], first["CallbackSource"]) == ("outbound-api", "call-progress-events")
    assert RFC2822.match(first["Timestamp"])
    assert "CallDuration" not in first
    assert last["CallDuration"] == "0"  # hung up at once


async def test_only_the_completed_callback_is_sent_by_default(sim: TwilioSim, standin: StandIn) -> None:
    created = await create_call(
        sim, to=TO, from_=FROM, twiml="<Response><Hangup/></Response>", status_callback=standin.url("/status")
    )
    call = await sim.wait_for_call_end(created.sid, WAIT_S)
    assert [(c.event, c.params["CallStatus"], c.status_code) for c in call.callbacks] == [
        ("completed", "completed", 204)
    ]


@pytest.mark.parametrize(
    ("number", "status", "callbacks"),
    [
        (BUSY_NUMBER, "busy", ["initiated", "busy"]),
        (NO_ANSWER_NUMBER, "no-answer", ["initiated", "ringing", "no-answer"]),
        (FAILED_NUMBER, "failed", ["initiated", "failed"]),
    ],
)
async def test_special_numbers_end_with_their_status(
    sim: TwilioSim, standin: StandIn, number: str, status: str, callbacks: list[str]
) -> None:
    created = await create_call(
        sim,
        to=number,
        from_=FROM,
        url=standin.url("/never-fetched"),
        status_callback=standin.url("/status"),
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )
    call = await sim.wait_for_call_end(created.sid, WAIT_S)
    assert [c.params["CallStatus"] for c in call.callbacks] == callbacks
    assert (call.status, call.duration, call.twiml) == (status, None, [])


async def test_answer_fetches_twiml_from_url_with_signed_post(sim: TwilioSim, standin: StandIn) -> None:
    standin.twiml["/answer"] = "<Response><Hangup/></Response>"
    created = await create_call(sim, to=TO, from_=FROM, url=standin.url("/answer"))
    hit = await standin.next_hit("/answer")
    assert RequestValidator(sim.auth_token).validate(hit.url, hit.params, hit.signature)
    assert {k: hit.params[k] for k in ("CallSid", "CallStatus", "Direction", "ApiVersion", "From", "To")} == {
        "CallSid": created.sid,
        "CallStatus": "in-progress",
        "Direction": "outbound-api",
        "ApiVersion": "2010-04-01",
        "From": FROM,
        "To": TO,
    }
    call = await sim.wait_for_call_end(created.sid, WAIT_S)
    assert call.twiml == ["<Response><Hangup/></Response>"]


async def test_url_update_fetches_and_follows_new_twiml(sim: TwilioSim, standin: StandIn) -> None:
    created = await create_call(sim, to=TO, from_=FROM, twiml="<Response><Pause length='30'/></Response>")
    await sim.wait_for_status(created.sid, "in-progress", WAIT_S)
    standin.twiml["/next"] = "<Response><Say>Moving on.</Say></Response>"
    await update_call(sim, created.sid, url=standin.url("/next"))
    hit = await standin.next_hit("/next")
    assert RequestValidator(sim.auth_token).validate(hit.url, hit.params, hit.signature)
    assert hit.params["CallStatus"] == "in-progress"
    call = await sim.wait_for_call_end(created.sid, WAIT_S)
    assert (call.said, len(call.twiml)) == (["Moving on."], 2)


async def test_say_then_hangup_ends_the_call(sim: TwilioSim) -> None:
    twiml = "<Response><Say>Goodbye now.</Say><Hangup/></Response>"
    created = await create_call(sim, to=TO, from_=FROM, twiml=twiml)
    call = await sim.wait_for_call_end(created.sid, WAIT_S)
    assert (call.said, call.status, call.end_reason) == (["Goodbye now."], "completed", "hangup")
    assert call.statuses == ["queued", "ringing", "in-progress", "completed"]


async def test_unreachable_twiml_url_ends_call_with_error_11200(sim: TwilioSim) -> None:
    created = await create_call(sim, to=TO, from_=FROM, url="http://127.0.0.1:1/answer")  # nothing listens
    call = await sim.wait_for_call_end(created.sid, WAIT_S)
    assert [e.code for e in call.errors] == [11200]
    assert (call.status, call.end_reason) == ("completed", "application-error")


async def test_answer_that_is_not_twiml_ends_call_with_error_12100(sim: TwilioSim, standin: StandIn) -> None:
    created = await create_call(sim, to=TO, from_=FROM, url=standin.url("/empty"))  # 204, no body
    call = await sim.wait_for_call_end(created.sid, WAIT_S)
    assert [e.code for e in call.errors] == [12100]
    assert call.end_reason == "application-error"


async def test_inbound_call_posts_signed_receive_call(
    sim: TwilioSim, standin: StandIn, media: MediaServer
) -> None:
    standin.twiml["/receive_call"] = stream_twiml(media.url)
    call = await sim.place_inbound_call(FROM, TO, standin.base_url, scenario="hold")
    hit = await standin.next_hit("/receive_call")
    assert RequestValidator(sim.auth_token).validate(hit.url, hit.params, hit.signature)
    assert (hit.params["CallSid"], hit.params["Direction"], hit.params["CallStatus"]) == (
        call.sid,
        "inbound",
        "ringing",
    )
    _, start = await media.accept_started()
    assert start["start"]["callSid"] == call.sid
    assert call.streams[0].scenario == "hold"


# -- media streams ---------------------------------------------------------------------------


async def test_stream_handshake_carries_valid_signature(sim: TwilioSim, media: MediaServer) -> None:
    await create_call(sim, to=TO, from_=FROM, twiml=stream_twiml(media.url))
    conn = await media.next_connection()
    assert RequestValidator(sim.auth_token).validate(media.url, {}, conn.signature)


async def test_stream_sends_connected_then_start_with_custom_parameters(
    sim: TwilioSim, media: MediaServer
) -> None:
    created = await create_call(sim, to=TO, from_=FROM, twiml=stream_twiml(media.url, tenant="t1"))
    conn = await media.next_connection()
    assert await conn.next() == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    start = await conn.next()
    stream_sid = start["streamSid"]
    assert re.fullmatch(r"MZ[0-9a-f]{32}", stream_sid)
    assert start == {
        "event": "start",
        "sequenceNumber": "1",
        "streamSid": stream_sid,
        "start": {
            "accountSid": sim.account_sid,
            "streamSid": stream_sid,
            "callSid": created.sid,
            "tracks": ["inbound"],
            "customParameters": {"scenario": "default", "tenant": "t1"},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        },
    }


async def test_media_frames_are_numbered_and_20ms_apart(sim: TwilioSim, media: MediaServer) -> None:
    _, conn = await streaming_call(sim, media)
    timed = [await conn.next_timed() for _ in range(50)]
    messages = [m for _, m in timed]
    assert [m["sequenceNumber"] for m in messages] == [str(n) for n in range(2, 52)]
    assert [m["media"]["chunk"] for m in messages] == [str(n) for n in range(1, 51)]
    assert [m["media"]["timestamp"] for m in messages] == [str(20 * n) for n in range(50)]
    assert all(m["media"]["track"] == "inbound" for m in messages)
    assert all(len(base64.b64decode(m["media"]["payload"])) == FRAME_BYTES for m in messages)
    assert set(messages[0]) == {"event", "sequenceNumber", "media", "streamSid"}
    assert timed[-1][0] - timed[0][0] >= 0.9  # real time: 49 frame intervals of 20 ms


async def test_mark_is_echoed_after_its_audio_has_played(sim: TwilioSim, media: MediaServer) -> None:
    call_sid, conn = await streaming_call(sim, media)
    stream_sid = sim.calls[call_sid].streams[0].stream_sid
    sent_at = time.monotonic()
    for message in audio_messages(stream_sid, speech(400)):
        await conn.send(message)
    await conn.send({"event": "mark", "streamSid": stream_sid, "mark": {"name": "reply-1"}})
    echo = await conn.next_event("mark")
    assert time.monotonic() - sent_at >= 0.38
    assert echo == {"event": "mark", "sequenceNumber": echo["sequenceNumber"], "streamSid": stream_sid,
                    "mark": {"name": "reply-1"}}  # fmt: skip
    assert sim.calls[call_sid].marks_echoed == ["reply-1"]


async def test_mark_with_nothing_queued_is_echoed_at_once(sim: TwilioSim, media: MediaServer) -> None:
    call_sid, conn = await streaming_call(sim, media)
    stream_sid = sim.calls[call_sid].streams[0].stream_sid
    sent_at = time.monotonic()
    await conn.send({"event": "mark", "streamSid": stream_sid, "mark": {"name": "nothing-before"}})
    echo = await conn.next_event("mark")
    assert echo["mark"]["name"] == "nothing-before"
    assert time.monotonic() - sent_at < 0.1


async def test_clear_drops_audio_and_echoes_pending_marks_at_once(sim: TwilioSim, media: MediaServer) -> None:
    call_sid, conn = await streaming_call(sim, media)
    stream_sid = sim.calls[call_sid].streams[0].stream_sid
    for message in audio_messages(stream_sid, speech(5000)):
        await conn.send(message)
    await conn.send({"event": "mark", "streamSid": stream_sid, "mark": {"name": "long-reply"}})
    sent_at = time.monotonic()
    await conn.send({"event": "clear", "streamSid": stream_sid})
    echo = await conn.next_event("mark")
    assert echo["mark"]["name"] == "long-reply"
    assert time.monotonic() - sent_at < 0.5
    record = sim.calls[call_sid].streams[0]
    assert record.clears_received == 1
    assert record.bytes_played < 8000 * 5


async def test_invalid_app_messages_are_recorded_as_stream_errors(sim: TwilioSim, media: MediaServer) -> None:
    call_sid, conn = await streaming_call(sim, media)
    stream_sid = sim.calls[call_sid].streams[0].stream_sid
    await conn.send("not json")
    await conn.send({"event": "bogus", "streamSid": stream_sid})
    await conn.send({"event": "media", "streamSid": stream_sid, "media": {"payload": "***"}})
    await conn.send({"event": "mark", "streamSid": stream_sid, "mark": {"name": "after"}})
    await conn.next_event("mark")  # messages are handled in order: the errors are recorded by now
    errors = sim.calls[call_sid].streams[0].errors
    assert [e.code for e in errors] == [31951, 31951, 31951]
    assert errors[0].raw == "not json"


async def test_dial_update_stops_stream_and_records_target(sim: TwilioSim, media: MediaServer) -> None:
    call_sid, conn = await streaming_call(sim, media)
    await update_call(sim, call_sid, twiml="<Response><Dial>+15558675310</Dial></Response>")
    stop = await conn.next_event("stop")
    assert stop["stop"] == {"accountSid": sim.account_sid, "callSid": call_sid}
    assert (await conn.next())["event"] == "<closed>"
    call = await sim.wait_for_call_end(call_sid, WAIT_S)
    assert (call.dialed, call.status, call.end_reason) == ("+15558675310", "completed", "dial-ended")


async def test_play_digits_update_records_digits_and_reconnects(sim: TwilioSim, media: MediaServer) -> None:
    call_sid, conn = await streaming_call(sim, media)
    twiml = f'<Response><Play digits="w123#"/>{stream_twiml(media.url).removeprefix("<Response>")}'
    await update_call(sim, call_sid, twiml=twiml)
    await conn.next_event("stop")
    _, start = await media.accept_started()
    call = sim.calls[call_sid]
    assert call.digits_played == "123#"
    assert len(call.streams) == 2
    assert start["streamSid"] == call.streams[1].stream_sid != call.streams[0].stream_sid


async def test_app_closing_the_stream_continues_with_the_next_verb(
    sim: TwilioSim, media: MediaServer
) -> None:
    twiml = stream_twiml(media.url).replace("</Connect>", "</Connect><Say>Bye.</Say>")
    created = await create_call(sim, to=TO, from_=FROM, twiml=twiml)
    conn, _ = await media.accept_started()
    await conn.ws.close()
    call = await sim.wait_for_call_end(created.sid, WAIT_S)
    assert (call.said, call.streams[0].end_reason, call.end_reason) == (["Bye."], "app-closed", "twiml-ended")


async def test_party_key_presses_reach_the_app_as_dtmf(sim: TwilioSim, media: MediaServer) -> None:
    call_sid, conn = await streaming_call(sim, media)
    await sim.press_digits(call_sid, "42")
    first, second = await conn.next_event("dtmf"), await conn.next_event("dtmf")
    stream_sid = sim.calls[call_sid].streams[0].stream_sid
    assert first == {"event": "dtmf", "streamSid": stream_sid, "sequenceNumber": first["sequenceNumber"],
                     "dtmf": {"track": "inbound_track", "digit": "4"}}  # fmt: skip
    assert second["dtmf"]["digit"] == "2"


async def test_observer_sees_frames_sent_and_received(make_sim: SimFactory, media: MediaServer) -> None:
    seen: list[tuple[str, str, float, int]] = []
    sim = await make_sim(observer=lambda sid, kind, at, payload: seen.append((sid, kind, at, len(payload))))
    call_sid, conn = await streaming_call(sim, media)
    stream_sid = sim.calls[call_sid].streams[0].stream_sid
    await conn.send(audio_messages(stream_sid, speech(20))[0])
    await conn.send({"event": "mark", "streamSid": stream_sid, "mark": {"name": "m"}})
    await conn.next_event("mark")
    assert (call_sid, MEDIA_RECEIVED, FRAME_BYTES) in [(s, k, n) for s, k, _, n in seen]
    sent = [at for s, k, at, n in seen if k == MEDIA_SENT and s == call_sid and n == FRAME_BYTES]
    assert sent
    assert sent == sorted(sent)


# -- the party -------------------------------------------------------------------------------


async def test_party_speaks_first_line_then_waits_for_the_reply_to_play(
    sim: TwilioSim, media: MediaServer
) -> None:
    call_sid, conn = await streaming_call(sim, media)
    stream_sid = sim.calls[call_sid].streams[0].stream_sid
    first_line, second_line = (t.caller for t in SCENARIOS["default"].turns)
    await next_media(conn, speaking=True)
    _, after_line = await next_media(conn, speaking=False)
    assert int(after_line["media"]["timestamp"]) >= speech_ms(first_line)
    for _ in range(25):  # half a second with no reply: the party keeps quiet
        assert not is_speech(await conn.next_event("media"))
    replied_at = time.monotonic()
    for message in audio_messages(stream_sid, speech(400)):
        await conn.send(message)
    spoke_at, _ = await next_media(conn, speaking=True)
    # The reply plays for 400 ms, then the scenario's 300 ms pause.
    assert spoke_at - replied_at >= 0.65
    assert sim.calls[call_sid].lines_spoken == [first_line, second_line]


async def test_party_barges_in_during_a_long_reply(sim: TwilioSim, media: MediaServer) -> None:
    call_sid, conn = await streaming_call(sim, media, scenario="barge_in")
    stream_sid = sim.calls[call_sid].streams[0].stream_sid
    await next_media(conn, speaking=True)
    await next_media(conn, speaking=False)
    replied_at = time.monotonic()
    for message in audio_messages(stream_sid, speech(5000)):
        await conn.send(message)
    spoke_at, _ = await next_media(conn, speaking=True)
    assert 0.55 <= spoke_at - replied_at < 2.0  # interrupt_after_ms=600, long before the reply's end
    record = sim.calls[call_sid].streams[0]
    assert record.lines_spoken[-1] == SCENARIOS["barge_in"].turns[1].caller
    assert record.bytes_played < 8000 * 5


async def test_party_gives_up_and_hangs_up_without_a_reply(make_sim: SimFactory, media: MediaServer) -> None:
    sim = await make_sim(timings=SimTimings(ring_ms=50, reply_timeout_s=0.3))
    call_sid, conn = await streaming_call(sim, media)
    stop = await conn.next_event("stop")
    assert stop["stop"]["callSid"] == call_sid
    call = await sim.wait_for_call_end(call_sid, WAIT_S)
    assert (call.status, call.end_reason, call.streams[0].end_reason) == (
        "completed",
        "party-gave-up",
        "party-hangup",
    )


async def test_party_hangs_up_after_its_script_and_lingering(
    make_sim: SimFactory, media: MediaServer
) -> None:
    sim = await make_sim(timings=SimTimings(ring_ms=50, linger_s=0.2))
    call_sid, conn = await streaming_call(sim, media)
    stream_sid = sim.calls[call_sid].streams[0].stream_sid
    for _ in SCENARIOS["default"].turns:
        await next_media(conn, speaking=True)
        await next_media(conn, speaking=False)
        for message in audio_messages(stream_sid, speech(200)):
            await conn.send(message)
    await conn.next_event("stop")
    call = await sim.wait_for_call_end(call_sid, WAIT_S)
    assert (call.end_reason, len(call.lines_spoken)) == ("party-hung-up", 2)


REPROMPT_S = 0.3
REPROMPTING = SimTimings(ring_ms=50, reprompt_after_s=REPROMPT_S, reply_timeout_s=10.0)


async def party_line(conn: MediaConn) -> tuple[float, float]:
    """When the party's next line starts and when the silence after it starts (arrival times)."""
    started, _ = await next_media(conn, speaking=True)
    ended, _ = await next_media(conn, speaking=False)
    return started, ended


async def test_party_says_its_line_again_when_the_line_stays_silent(
    make_sim: SimFactory, media: MediaServer
) -> None:
    sim = await make_sim(timings=REPROMPTING)
    call_sid, conn = await streaming_call(sim, media, scenario="digits")
    first = SCENARIOS["digits"].turns[0].caller
    _, ended = await party_line(conn)
    again, _ = await party_line(conn)
    assert again - ended >= REPROMPT_S - 0.05  # frames arrive at real time, give or take a tick
    assert sim.calls[call_sid].lines_spoken == [first, first]


async def test_party_goes_on_with_its_next_line_once_a_repeated_line_is_answered(
    make_sim: SimFactory, media: MediaServer
) -> None:
    sim = await make_sim(timings=REPROMPTING)
    call_sid, conn = await streaming_call(sim, media, scenario="digits")
    stream_sid = sim.calls[call_sid].streams[0].stream_sid
    first, second = (t.caller for t in SCENARIOS["digits"].turns)
    await party_line(conn)
    await party_line(conn)  # said again into the silence
    for message in audio_messages(stream_sid, speech(200)):
        await conn.send(message)
    await next_media(conn, speaking=True)
    assert sim.calls[call_sid].lines_spoken == [first, first, second]


async def test_party_does_not_repeat_a_line_the_ai_answered(make_sim: SimFactory, media: MediaServer) -> None:
    sim = await make_sim(timings=REPROMPTING)
    call_sid, conn = await streaming_call(sim, media, scenario="digits")
    stream_sid = sim.calls[call_sid].streams[0].stream_sid
    first, second = (t.caller for t in SCENARIOS["digits"].turns)
    await party_line(conn)
    # A short answer, then the AI waits (for its supervisor, say) longer than the reprompt delay.
    for message in audio_messages(stream_sid, speech(100)):
        await conn.send(message)
    await party_line(conn)
    await party_line(conn)  # only the unanswered line is said again
    assert sim.calls[call_sid].lines_spoken == [first, second, second]


async def test_party_repeats_an_unanswered_line_at_most_twice_then_gives_up(
    make_sim: SimFactory, media: MediaServer
) -> None:
    # The reply timeout leaves room for two repeats of the 1.2 s hold line, not three.
    sim = await make_sim(timings=SimTimings(ring_ms=50, reprompt_after_s=0.2, reply_timeout_s=3.5))
    call_sid, _ = await streaming_call(sim, media, scenario="hold")
    call = await sim.wait_for_call_end(call_sid, 3 * WAIT_S)
    assert call.lines_spoken == [SCENARIOS["hold"].turns[0].caller] * 3
    assert call.end_reason == "party-gave-up"


async def test_first_ai_audio_after_a_moment_is_when_the_next_frame_from_the_app_arrived(
    sim: TwilioSim, media: MediaServer
) -> None:
    call_sid, conn = await streaming_call(sim, media)
    stream_sid = sim.calls[call_sid].streams[0].stream_sid
    await conn.send(audio_messages(stream_sid, speech(20))[0])
    await conn.send({"event": "mark", "streamSid": stream_sid, "mark": {"name": "before"}})
    await conn.next_event("mark")  # messages are handled in order: the first frame is in by now
    fault = time.monotonic()
    await conn.send(audio_messages(stream_sid, speech(20))[0])
    await conn.send({"event": "mark", "streamSid": stream_sid, "mark": {"name": "after"}})
    await conn.next_event("mark")
    call = sim.calls[call_sid]
    heard_again = call.first_ai_audio_after(fault)
    assert heard_again is not None
    assert fault < heard_again == call.streams[0].received_at[1] <= time.monotonic()
    assert call.first_ai_audio_after(heard_again) is None
