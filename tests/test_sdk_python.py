"""The Python SDK (clients/python, ``phony_client``) against the session's real Phony: CRUD, paging,
typed errors, retries, event streams that survive a dropped socket, and the seed's SDK example.

Retries on 503 are shown against an ``httpx.MockTransport`` (a real 503 needs a dependency down, which
the shared session cannot afford); every other behaviour goes through the real server."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from phony_client import (
    APIConnectionError,
    AsyncEventStream,
    AsyncPhonyClient,
    AuthenticationError,
    ConflictError,
    Event,
    NotFoundError,
    PermissionDeniedError,
    PhonyClient,
    RateLimitedError,
    UnavailableError,
    UnknownEvent,
    ValidationError,
)
from phony_client.models import (
    CallEndedEvent,
    CallStartedEvent,
    SpeechDetectedEvent,
    TenantLimits,
    parse_event,
)
from redis.asyncio import Redis

from phony.config import Settings
from phony.events import envelope_for
from phony.events.calls import LatencyMeasured
from phony.projections.fanout import tenant_channel
from tests.call_events import CallScript, EventPublisher, event_publisher, projected, said
from tests.support import ADMIN_KEY, ROOT, PhonyProcess, TenantHandle, eventually, free_port, unique_number

EXAMPLE = ROOT / "clients" / "python" / "examples" / "seed_example.py"
WITHIN_S = 15.0


@pytest.fixture
def sdk(phony: PhonyProcess, tenant: TenantHandle) -> Iterator[PhonyClient]:
    with PhonyClient(base_url=phony.url, api_key=tenant.key) as client:
        yield client


@pytest.fixture
async def async_sdk(phony: PhonyProcess, tenant: TenantHandle) -> AsyncIterator[AsyncPhonyClient]:
    async with AsyncPhonyClient(base_url=phony.url, api_key=tenant.key) as client:
        yield client


@pytest.fixture
def operator(phony: PhonyProcess) -> Iterator[PhonyClient]:
    with PhonyClient(base_url=phony.url, api_key=ADMIN_KEY) as client:
        yield client


@pytest.fixture(scope="module")
async def publisher(settings: Settings, phony: PhonyProcess) -> AsyncIterator[EventPublisher]:
    async with event_publisher(settings) as events:
        yield events


class Reader:
    """Reads an async stream with a time limit, without cancelling it: a next event not yet come is
    kept waiting for the next read (cancelling ``anext`` would end the stream)."""

    def __init__(self, stream: AsyncEventStream) -> None:
        self.stream = stream
        self._pending: asyncio.Future[Event] | None = None

    async def next(self, within: float = WITHIN_S) -> Event | None:
        if self._pending is None:
            self._pending = asyncio.ensure_future(anext(self.stream))
        done, _ = await asyncio.wait({self._pending}, timeout=within)
        if not done:
            return None
        future, self._pending = self._pending, None
        return future.result()

    async def take(self, n: int, skip: str = "CAprobe") -> list[Event]:
        """The next ``n`` events that are not probes."""
        got: list[Event] = []
        while len(got) < n:
            event = await self.next()
            assert event is not None, f"no event within {WITHIN_S}s after {[e.seq for e in got]}"
            if not (event.call_sid or "").startswith(skip):
                got.append(event)
        return got

    async def serving(self, redis: Redis, settings: Settings, tenant_id: str) -> None:
        """Wait until the tenant stream's socket is live: a probe on the tenant's channel reaches it."""
        sid = f"CAprobe{uuid.uuid4().hex}"
        probe = envelope_for(
            LatencyMeasured(metric="probe", ms=0), aggregate_id=sid, tenant_id=tenant_id, seq=1
        )

        async def reached() -> bool:
            await redis.publish(tenant_channel(settings, tenant_id), probe.to_json())
            event = await self.next(within=0.3)
            return event is not None and event.call_sid == sid

        await eventually(reached, bool)


async def stored_ids(tenant: TenantHandle, sid: str) -> list[str]:
    response = await tenant.client.get(f"/calls/{sid}/events")
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["events"]]


def agent_names(client: PhonyClient) -> list[str]:
    return [a.name for a in client.agents.list_all()]


# -- CRUD and pages ------------------------------------------------------------------------------


async def test_agents_are_created_read_changed_replaced_and_deleted(sdk: PhonyClient) -> None:
    def crud() -> None:
        number = unique_number()
        agent = sdk.agents.create(
            name="Support Bot", voice="echo", phone_numbers=[number], greeting_message="Hi!"
        )
        assert (agent.name, agent.voice, agent.phone_numbers) == ("Support Bot", "echo", [number])
        assert sdk.agents.get(agent.id) == agent
        changed = sdk.agents.update(agent.id, temperature=0.5, greeting_message=None)
        assert (changed.temperature, changed.greeting_message, changed.voice) == (0.5, None, "echo")
        replaced = sdk.agents.replace(agent.id, name="Replaced")
        assert (replaced.name, replaced.voice, replaced.phone_numbers) == ("Replaced", "alloy", [])
        sdk.agents.delete(agent.id)
        with pytest.raises(NotFoundError):
            sdk.agents.get(agent.id)

    await asyncio.to_thread(crud)


async def test_async_client_creates_reads_changes_and_deletes_agents(async_sdk: AsyncPhonyClient) -> None:
    agent = await async_sdk.agents.create(name="Async Bot", require_approval=True)
    assert agent.require_approval is True
    assert (await async_sdk.agents.get(agent.id)).id == agent.id
    assert (await async_sdk.agents.update(agent.id, is_active=False)).is_active is False
    await async_sdk.agents.delete(agent.id)
    with pytest.raises(NotFoundError):
        await async_sdk.agents.get(agent.id)


async def test_list_is_one_page_and_iterating_walks_every_page(sdk: PhonyClient) -> None:
    def paging() -> None:
        names = [f"agent-{i}" for i in range(5)]
        for name in names:
            sdk.agents.create(name=name)
        page = sdk.agents.list(limit=2)
        assert ([a.name for a in page.data], page.total, page.limit, page.offset) == (names[:2], 5, 2, 0)
        assert page.has_next_page()
        assert [a.name for a in page.next_page().data] == names[2:4]
        assert [len(p.data) for p in page.iter_pages()] == [2, 2, 1]
        assert [a.name for a in page] == names
        assert [a.name for a in sdk.agents.list_all(page_size=2)] == names
        assert [a.name for a in sdk.agents.list(offset=3)] == names[3:]

    await asyncio.to_thread(paging)


async def test_async_list_all_walks_every_page(async_sdk: AsyncPhonyClient) -> None:
    for i in range(3):
        await async_sdk.agents.create(name=f"a{i}", is_active=i != 1)
    assert [a.name async for a in async_sdk.agents.list_all(page_size=1)] == ["a0", "a1", "a2"]
    assert [a.name async for a in async_sdk.agents.list_all(is_active=True)] == ["a0", "a2"]
    page = await async_sdk.agents.list(limit=1)
    assert [len(p.data) async for p in page.iter_pages()] == [1, 1, 1]


async def test_tenant_reads_itself_and_manages_its_keys(
    sdk: PhonyClient, tenant: TenantHandle, phony: PhonyProcess
) -> None:
    def keys() -> None:
        assert sdk.tenants.me().id == tenant.id
        created = sdk.tenants.keys.create(name="ci", expires_in_seconds=3600)
        assert created.key.startswith("pk_live_")
        assert created.expires_at is not None
        assert created.id in [k.id for k in sdk.tenants.keys.list()]
        with PhonyClient(base_url=phony.url, api_key=created.key) as second:
            assert second.tenants.me().id == tenant.id
            assert sdk.tenants.keys.revoke(created.id).active is False
            with pytest.raises(AuthenticationError, match="API key revoked"):
                second.tenants.me()

    await asyncio.to_thread(keys)


async def test_operator_creates_lists_and_suspends_tenants(
    operator: PhonyClient, phony: PhonyProcess
) -> None:
    def operate() -> None:
        created = operator.tenants.create(name="initech", limits=TenantLimits(calls_per_minute=50))
        assert (created.status, created.limits.calls_per_minute) == ("active", 50)
        assert created.id in [t.id for t in operator.tenants.list_all()]
        key = operator.tenants.keys.create(tenant_id=created.id, name="ops")
        assert [k.id for k in operator.tenants.keys.list(tenant_id=created.id)] == [key.id]
        with PhonyClient(base_url=phony.url, api_key=key.key) as theirs:
            assert theirs.tenants.me().name == "initech"
            assert operator.tenants.suspend(created.id).status == "suspended"
            with pytest.raises(PermissionDeniedError, match="tenant suspended") as refused:
                theirs.agents.list()
        assert (refused.value.status, refused.value.code) == (403, "FORBIDDEN")
        assert operator.tenants.activate(created.id).status == "active"

    await asyncio.to_thread(operate)


async def test_health_reports_the_servers_dependencies(async_sdk: AsyncPhonyClient) -> None:
    health = await async_sdk.health()
    assert (health.status, health.dependencies) == ("ok", {"kafka": "ok", "mongodb": "ok", "redis": "ok"})


# -- typed errors ---------------------------------------------------------------------------------


async def test_bad_key_is_an_authentication_error_with_the_servers_message(phony: PhonyProcess) -> None:
    async with AsyncPhonyClient(base_url=phony.url, api_key="pk_live_not-a-key") as client:
        with pytest.raises(AuthenticationError) as refused:
            await client.agents.list()
    error = refused.value
    assert (error.status, error.code, error.message) == (401, "UNAUTHORIZED", "invalid API key")
    assert str(error) == "401 UNAUTHORIZED: invalid API key"


async def test_unknown_id_is_not_found(async_sdk: AsyncPhonyClient) -> None:
    with pytest.raises(NotFoundError) as missing:
        await async_sdk.agents.get("agent_nope")
    assert (missing.value.status, missing.value.code) == (404, "NOT_FOUND")
    assert missing.value.details == {"id": "agent_nope"}
    with pytest.raises(NotFoundError, match="call not found"):
        await async_sdk.calls.get("CAnope")


async def test_invalid_field_is_a_validation_error_naming_the_field(async_sdk: AsyncPhonyClient) -> None:
    with pytest.raises(ValidationError) as refused:
        await async_sdk.agents.create(name="Bad", phone_numbers=["12345"])
    error = refused.value
    assert (error.status, error.code, error.message) == (
        422,
        "VALIDATION_ERROR",
        "Invalid phone number format",
    )
    assert (error.details["field"], error.details["value"]) == ("phone_numbers", "12345")


async def test_number_of_another_active_agent_is_a_conflict(async_sdk: AsyncPhonyClient) -> None:
    number = unique_number()
    await async_sdk.agents.create(name="First", phone_numbers=[number])
    with pytest.raises(ConflictError) as taken:
        await async_sdk.agents.create(name="Second", phone_numbers=[number])
    assert (taken.value.status, taken.value.code) == (409, "CONFLICT")


async def test_exhausted_rate_limit_is_rate_limited_with_retry_after(
    phony: PhonyProcess, tenant: TenantHandle, operator: PhonyClient
) -> None:
    await asyncio.to_thread(operator.tenants.update, tenant.id, limits=TenantLimits(agents_per_minute=1))
    async with AsyncPhonyClient(base_url=phony.url, api_key=tenant.key, max_retries=0) as client:

        async def exhaust() -> None:
            for _ in range(3):  # at most two of them can fall in one minute's window
                await client.agents.list()

        with pytest.raises(RateLimitedError) as limited:
            await exhaust()
    error = limited.value
    assert (error.status, error.code) == (429, "RATE_LIMITED")
    assert error.message == "rate limit of 1 requests per minute exceeded"
    assert error.retry_after is not None
    assert 1 <= error.retry_after <= 60


async def test_server_that_is_down_is_a_connection_error_at_once() -> None:
    down = f"http://127.0.0.1:{free_port()}"
    async with AsyncPhonyClient(base_url=down, api_key="pk_live_x", max_retries=0) as client:
        started = time.monotonic()
        with pytest.raises(APIConnectionError, match="could not reach the server"):
            await client.agents.list()
        assert time.monotonic() - started < 1.0
    with PhonyClient(base_url=down, api_key="pk_live_x") as sync_client:
        started = time.monotonic()
        with pytest.raises(APIConnectionError):
            sync_client.agents.list()  # two retries, backing off 0.5 s then 1 s at most
        with pytest.raises(APIConnectionError, match="could not connect"):
            next(sync_client.events.stream("CA1"))
        assert time.monotonic() - started < 5.0


# -- retries --------------------------------------------------------------------------------------


class FlakyTransport(httpx.HTTPTransport):
    """The real transport, except that the first ``failures`` requests find the connection refused."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.method)
        if self.failures > 0:
            self.failures -= 1
            raise httpx.ConnectError("connection refused (test)", request=request)
        return super().handle_request(request)


async def test_connection_errors_are_retried_for_idempotent_requests_only(
    phony: PhonyProcess, tenant: TenantHandle
) -> None:
    def flaky(failures: int) -> tuple[PhonyClient, FlakyTransport]:
        transport = FlakyTransport(failures)
        client = PhonyClient(phony.url, tenant.key, http_client=httpx.Client(transport=transport))
        return client, transport

    def run() -> None:
        reader, transport = flaky(1)
        assert reader.agents.list().total == 0
        assert transport.sent == ["GET", "GET"]
        writer, transport = flaky(1)
        with pytest.raises(APIConnectionError):
            writer.agents.create(name="Once")
        assert transport.sent == ["POST"]
        assert reader.with_options(max_retries=0).agents.list().total == 0  # nothing was created

    await asyncio.to_thread(run)


def stub(answers: list[httpx.Response]) -> tuple[PhonyClient, list[str]]:
    """A client whose server answers ``answers`` in turn (then 200 with an empty page)."""
    sent: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        if answers:
            return answers.pop(0)
        return httpx.Response(200, json={"agents": [], "total": 0, "limit": 10, "offset": 0})

    client = PhonyClient(
        "http://phony.test", "pk_live_x", http_client=httpx.Client(transport=httpx.MockTransport(handle))
    )
    return client, sent


def error(status: int, code: str, retry_after: str | None = None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    body = {"error": {"code": code, "message": "a dependency is unavailable", "details": {}}}
    return httpx.Response(status, json=body, headers=headers)


def test_503_is_retried_for_a_get_and_not_for_a_post() -> None:
    client, sent = stub([error(503, "UNAVAILABLE", "0"), error(503, "UNAVAILABLE", "0")])
    assert client.agents.list().total == 0
    assert sent == ["GET", "GET", "GET"]
    client, sent = stub([error(503, "UNAVAILABLE")])
    with pytest.raises(UnavailableError, match="a dependency is unavailable"):
        client.agents.create(name="Once")
    assert sent == ["POST"]


def test_429_is_retried_after_its_retry_after_unless_that_is_too_long() -> None:
    client, sent = stub([error(429, "RATE_LIMITED", "0")])
    assert client.agents.list().total == 0
    assert sent == ["GET", "GET"]
    client, sent = stub([error(429, "RATE_LIMITED", "120")])
    with pytest.raises(RateLimitedError) as limited:
        client.agents.list()
    assert (sent, limited.value.retry_after) == (["GET"], 120)


def test_retries_stop_after_max_retries() -> None:
    client, sent = stub([error(503, "UNAVAILABLE", "0")] * 5)
    with pytest.raises(UnavailableError):
        client.with_options(max_retries=3).agents.list()
    assert len(sent) == 4


# -- event streams --------------------------------------------------------------------------------


async def test_call_stream_resumes_after_a_dropped_socket_with_no_gap_or_duplicate(
    async_sdk: AsyncPhonyClient, tenant: TenantHandle, publisher: EventPublisher
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.answered_call()
    await projected(tenant.client, call.sid, 4)
    stream = async_sdk.events.stream(call.sid)
    reader = Reader(stream)
    before = await reader.take(4)
    assert isinstance(before[0], CallStartedEvent)
    assert before[0].data.from_ == "+15551230001"
    connection = stream._connection
    assert connection is not None
    connection.transport.abort()  # the socket drops, as a network fault would drop it
    await call.add(said("caller", "one"), said("ai", "two"), said("caller", "three"))
    await projected(tenant.client, call.sid, 7)
    missed = await reader.take(3)  # the reconnect asks for since=4: the store replays 5..7
    assert all(isinstance(e, SpeechDetectedEvent) for e in missed)
    await call.ended()
    [ended] = await reader.take(1)
    assert isinstance(ended, CallEndedEvent)
    assert ended.data.reason == "caller_hangup"
    with pytest.raises(StopAsyncIteration):  # the stream ends after call.ended
        await anext(stream)
    got = before + missed + [ended]
    assert [e.seq for e in got] == list(range(1, 9))
    assert [e.id for e in got] == await stored_ids(tenant, call.sid)
    assert stream.reconnects == 1


async def test_sync_call_stream_resumes_after_a_dropped_socket(
    sdk: PhonyClient, tenant: TenantHandle, publisher: EventPublisher
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.answered_call()
    await projected(tenant.client, call.sid, 4)
    dropped, resume = threading.Event(), threading.Event()

    def consume() -> tuple[list[Event], int]:
        with sdk.events.stream(call.sid) as stream:
            got = [next(stream) for _ in range(4)]
            connection = stream._connection
            assert connection is not None
            connection.socket.shutdown(socket.SHUT_RDWR)
            dropped.set()
            assert resume.wait(WITHIN_S)
            got += list(stream)
            return got, stream.reconnects

    consumer = asyncio.ensure_future(asyncio.to_thread(consume))
    await eventually(lambda: asyncio.sleep(0, dropped.is_set()))
    await call.add(said("caller", "while dropped"))
    await projected(tenant.client, call.sid, 5)
    resume.set()
    await call.ended()
    got, reconnects = await asyncio.wait_for(consumer, WITHIN_S)
    assert [e.seq for e in got] == list(range(1, 7))
    assert [e.id for e in got] == await stored_ids(tenant, call.sid)
    assert (got[-1].type, reconnects) == ("call.ended", 1)


async def test_tenant_stream_fetches_what_a_dropped_socket_missed(
    async_sdk: AsyncPhonyClient,
    tenant: TenantHandle,
    publisher: EventPublisher,
    redis: Redis,
    settings: Settings,
) -> None:
    first, second = CallScript(publisher, tenant.id), CallScript(publisher, tenant.id)
    stream = async_sdk.events.stream_tenant()
    reader = Reader(stream)
    await reader.serving(redis, settings, tenant.id)
    await first.started()
    await first.add(said("caller", "a1"))
    await second.started()
    got = await reader.take(3)
    connection = stream._connection
    assert connection is not None
    connection.transport.abort()
    await first.add(said("caller", "a2"))
    await second.add(said("caller", "b1"))
    await projected(tenant.client, first.sid, 3)
    await projected(tenant.client, second.sid, 2)
    got += await reader.take(2)  # fetched from the store once the socket is open again
    await reader.serving(redis, settings, tenant.id)
    await first.ended()
    await second.ended()
    got += await reader.take(2)
    await stream.close()
    for call in (first, second):
        mine = [e for e in got if e.call_sid == call.sid]
        assert [e.id for e in mine] == await stored_ids(tenant, call.sid)
        assert mine[-1].type == "call.ended"
    assert stream.reconnects == 1


async def test_stream_of_an_unknown_call_is_not_found(async_sdk: AsyncPhonyClient) -> None:
    with pytest.raises(NotFoundError, match="call not found"):
        await anext(async_sdk.events.stream("CAnope"))


async def test_stream_with_a_bad_key_is_an_authentication_error(phony: PhonyProcess) -> None:
    def run() -> None:
        with (
            PhonyClient(base_url=phony.url, api_key="pk_live_nope") as client,
            pytest.raises(AuthenticationError, match="invalid API key"),
        ):
            next(client.events.stream_tenant())

    await asyncio.to_thread(run)


def test_event_of_an_unknown_type_or_changed_payload_is_an_unknown_event() -> None:
    base: dict[str, Any] = {
        "id": "evt_1",
        "version": 1,
        "aggregate_type": "call",
        "aggregate_id": "CA1",
        "call_sid": "CA1",
        "tenant_id": "t",
        "seq": 3,
        "timestamp": "2024-01-15T10:30:00Z",
    }
    ended = parse_event(
        {**base, "type": "call.ended", "data": {"callSid": "CA1", "duration": 2, "reason": "x"}}
    )
    assert isinstance(ended, CallEndedEvent)
    assert ended.data.duration == 2
    newer = parse_event({**base, "type": "call.teleported", "data": {"to": "mars"}})
    assert isinstance(newer, UnknownEvent)
    assert (newer.type, newer.data) == ("call.teleported", {"to": "mars"})
    changed = parse_event({**base, "type": "call.ended", "version": 2, "data": {"callSid": "CA1"}})
    assert isinstance(changed, UnknownEvent)
    assert changed.type == "call.ended"


# -- a real call, supervised through the SDK -----------------------------------------------------


async def test_live_call_is_supervised_and_read_back_through_the_sdk(async_sdk: AsyncPhonyClient) -> None:
    agent = await async_sdk.agents.create(name="Hold Bot", phone_numbers=[unique_number()])
    placed = await async_sdk.calls.create(agent_id=agent.id, to_number=unique_number(), scenario="hold")
    types: list[str] = []
    async with async_sdk.events.stream(placed.call_sid) as stream:
        async for event in stream:
            types.append(event.type)
            if event.type == "speech.detected" and "supervisor.text_sent" not in types:
                assert (await async_sdk.overrides.text(placed.call_sid, "A supervisor here.")).success
            elif event.type == "supervisor.text_sent":
                await async_sdk.overrides.dtmf(placed.call_sid, "12#")
            elif event.type == "dtmf.sent":
                with pytest.raises(ConflictError):  # the AI asked nothing
                    await async_sdk.overrides.clarification(placed.call_sid, "yes")
                with pytest.raises(ConflictError):  # no reply is held
                    await async_sdk.overrides.approve(placed.call_sid, "resp_nope")
                await async_sdk.overrides.end(placed.call_sid)
    assert types[0] == "call.started"
    assert types[-1] == "call.ended"
    call = await async_sdk.calls.get(placed.call_sid)
    assert (call.status, call.end_reason, call.agent_id) == ("completed", "supervisor_ended", agent.id)
    assert [c.call_sid for c in (await async_sdk.calls.list(agent_id=agent.id)).data] == [placed.call_sid]
    transcript = await async_sdk.calls.transcript(placed.call_sid)
    assert ("supervisor", "A supervisor here.") in [(e.speaker, e.text) for e in transcript.entries]
    log = await async_sdk.calls.events(placed.call_sid)
    assert [e.type for e in log.events] == types
    assert (await async_sdk.calls.recording(placed.call_sid))[:4] == b"RIFF"
    with pytest.raises(NotFoundError, match="call has ended"):
        await async_sdk.overrides.end(placed.call_sid)


# -- the seed's example ---------------------------------------------------------------------------


async def test_seed_python_sdk_example_runs_to_the_end_of_the_call(
    phony: PhonyProcess, tenant: TenantHandle
) -> None:
    env = {
        **os.environ,
        "PHONY_BASE_URL": phony.url,
        "PHONY_API_KEY": tenant.key,
        "PHONY_EXAMPLE_NUMBER": unique_number(),
    }
    # In a subprocess the test's event loop stays free to run the simulated Twilio and OpenAI.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 90)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert lines[0].startswith("Event: call.started - callSid=")
    assert "scenario='customer_support'" in lines[0]
    assert lines[-1].startswith("Event: call.ended - callSid=")
    assert "reason='ai_ended'" in lines[-1]
    # An unknown scenario is the simulated caller's default script.
    assert any("Hi, I'd like to check my order status." in line for line in lines)
