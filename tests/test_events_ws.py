"""The events WebSocket (SPEC §5): per-call and per-tenant streams, since= replay with no gap and no
duplicate, gap repair from the store, key checks, the per-key socket limit and slow subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close

from phony.config import Settings
from phony.events import envelope_for
from phony.events.calls import LatencyMeasured
from phony.projections.documents import mongo_client
from phony.projections.fanout import tenant_channel
from phony.projections.projector import SeqMemory, apply
from tests.call_events import CallScript, EventPublisher, bound_read_models, event_publisher, projected, said
from tests.support import PhonyProcess, TenantHandle, eventually

RECV_TIMEOUT_S = 15.0


@pytest.fixture(scope="module")
async def publisher(settings: Settings, phony: PhonyProcess) -> AsyncIterator[EventPublisher]:
    async with event_publisher(settings) as events:
        yield events


def ws_url(phony: PhonyProcess, **params: str) -> str:
    query = urlencode(params)
    return f"ws://127.0.0.1:{phony.port}/events/ws" + (f"?{query}" if query else "")


def open_stream(phony: PhonyProcess, key: str | None, **params: str) -> connect:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return connect(ws_url(phony, **params), additional_headers=headers, proxy=None, compression=None)


async def next_event(ws: ClientConnection, within: float = RECV_TIMEOUT_S) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), within))
    return event


async def seqs_until(ws: ClientConnection, last: int, call_sid: str | None = None) -> list[int]:
    """The seqs received up to and including ``last`` (of ``call_sid`` only, if given)."""
    seqs: list[int] = []
    while not seqs or seqs[-1] < last:
        event = await next_event(ws)
        if call_sid is None or event["call_sid"] == call_sid:
            seqs.append(event["seq"])
    return seqs


async def close_of(ws: ClientConnection) -> Close:
    """How the server closed the socket (events still queued before the close are skipped)."""
    with pytest.raises(ConnectionClosed) as closed:
        await drain(ws)
    rcvd = closed.value.rcvd
    assert rcvd is not None, "closed without a close frame"
    return rcvd


async def drain(ws: ClientConnection) -> None:
    while True:
        await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_S)


async def serving(ws: ClientConnection, redis: Redis, settings: Settings, tenant_id: str) -> None:
    """Wait until a tenant-wide socket is live: a probe event on the tenant's channel reaches it.
    (Probes go to Redis only, never the log: they exist for live subscribers alone.)"""
    sid = f"CAprobe{uuid.uuid4().hex}"
    probe = envelope_for(LatencyMeasured(metric="probe", ms=0), aggregate_id=sid, tenant_id=tenant_id, seq=1)

    async def reached() -> bool:
        await redis.publish(tenant_channel(settings, tenant_id), probe.to_json())
        with contextlib.suppress(TimeoutError):
            return bool((await next_event(ws, within=0.3))["call_sid"] == sid)
        return False

    await eventually(reached, bool)


async def test_call_stream_sends_that_calls_events_only_in_seq_order(
    phony: PhonyProcess, tenant: TenantHandle, publisher: EventPublisher
) -> None:
    call, other = CallScript(publisher, tenant.id), CallScript(publisher, tenant.id)
    await call.answered_call()
    await other.started()
    await projected(tenant.client, call.sid, 4)
    async with open_stream(phony, tenant.key, callSid=call.sid, since="0") as ws:
        assert await seqs_until(ws, 4) == [1, 2, 3, 4]
        await call.add(said("caller", "one"), said("ai", "two"))
        await other.add(said("caller", "elsewhere"))
        await call.add(said("caller", "three"))
        live = [await next_event(ws) for _ in range(3)]
    assert [(e["call_sid"], e["seq"]) for e in live] == [(call.sid, 5), (call.sid, 6), (call.sid, 7)]
    assert live[0] == call.events[4].public()


async def test_tenant_stream_sends_every_call_of_the_tenant_and_no_other(
    phony: PhonyProcess,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    publisher: EventPublisher,
    redis: Redis,
    settings: Settings,
) -> None:
    first, second = CallScript(publisher, tenant.id), CallScript(publisher, tenant.id)
    foreign = CallScript(publisher, other_tenant.id)
    async with (
        open_stream(phony, None, token=tenant.key) as ws,
        open_stream(phony, other_tenant.key) as foreign_ws,
    ):
        await serving(ws, redis, settings, tenant.id)
        await serving(foreign_ws, redis, settings, other_tenant.id)
        for call in (first, second, foreign):
            await call.started()
            await call.add(said("caller", "hi"))
        got = {(e["call_sid"], e["seq"]) for e in [await next_event(ws) for _ in range(4)]}
        assert got == {(first.sid, 1), (first.sid, 2), (second.sid, 1), (second.sid, 2)}
        # Once the other tenant's events were fanned out, the next event on ours is our call's.
        assert [(await next_event(foreign_ws))["seq"] for _ in range(2)] == [1, 2]
        await first.add(said("caller", "still here"))
        assert (await next_event(ws))["call_sid"] == first.sid


async def test_key_sent_as_token_is_kept_out_of_the_server_log(
    phony: PhonyProcess, tenant: TenantHandle, redis: Redis, settings: Settings
) -> None:
    async with open_stream(phony, None, token=tenant.key) as ws:
        await serving(ws, redis, settings, tenant.id)
    assert phony.log_path is not None
    log = phony.log_path.read_text(errors="replace")
    assert "/events/ws?token=***" in log
    assert tenant.key not in log


async def test_since_replays_stored_events_then_goes_live_without_gap_or_duplicate(
    phony: PhonyProcess, tenant: TenantHandle, publisher: EventPublisher
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.answered_call()
    await call.add(said("caller", "before"))
    await projected(tenant.client, call.sid, 5)
    # Events keep coming while the socket subscribes and replays, so replay and live overlap.
    burst = asyncio.create_task(call.add(*(said("caller", f"during {i}") for i in range(20))))
    async with open_stream(phony, tenant.key, callSid=call.sid, since="2") as ws:
        await burst
        assert await seqs_until(ws, 25) == list(range(3, 26))
        await call.add(said("caller", "after"))
        assert (await next_event(ws))["seq"] == 26


async def test_events_of_the_call_counted_but_not_yet_stored_when_it_replays_come_live(
    phony: PhonyProcess, tenant: TenantHandle, publisher: EventPublisher, settings: Settings
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.answered_call()
    await call.add(said("caller", "before"))
    await projected(tenant.client, call.sid, 5)
    # As between the projector setting the call's last_seq to 6 and storing event 6's copy.
    client = mongo_client(settings)
    try:
        await client[settings.mongodb_db]["calls"].update_one({"_id": call.sid}, {"$set": {"last_seq": 6}})
    finally:
        await client.close()
    async with open_stream(phony, tenant.key, callSid=call.sid, since="2") as ws:
        assert await seqs_until(ws, 5) == [3, 4, 5]
        await call.add(said("caller", "stored now"))  # event 6, stored and published
        assert (await next_event(ws))["seq"] == 6


async def test_event_delivered_twice_is_sent_once(
    phony: PhonyProcess, tenant: TenantHandle, publisher: EventPublisher, redis: Redis, settings: Settings
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.answered_call()
    await projected(tenant.client, call.sid, 4)
    async with open_stream(phony, tenant.key, callSid=call.sid, since="0") as ws:
        assert await seqs_until(ws, 4) == [1, 2, 3, 4]
        # What replay and the live buffer both hold, or a republished event, arrives again.
        for again in call.events[2:]:
            await redis.publish(tenant_channel(settings, tenant.id), again.to_json())
        await call.add(said("caller", "new"))
        assert (await next_event(ws))["seq"] == 5


async def test_call_stream_without_since_starts_with_the_next_event(
    phony: PhonyProcess, tenant: TenantHandle, publisher: EventPublisher
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.answered_call()
    await projected(tenant.client, call.sid, 4)
    async with open_stream(phony, tenant.key, callSid=call.sid) as ws:
        received: list[int] = []

        async def one_more() -> list[int]:
            # When the socket went live is unknown to the client: add events until one arrives.
            await call.add(said("caller", "are you there"))
            with contextlib.suppress(TimeoutError):
                received.append((await next_event(ws, within=0.5))["seq"])
            return received

        await eventually(one_more, bool)
        await call.add(said("caller", "good"))
        received += await seqs_until(ws, len(call.events))
    assert received[0] > 4
    assert received == list(range(received[0], len(call.events) + 1))


async def test_gap_in_the_live_stream_is_filled_from_the_store(
    phony: PhonyProcess, tenant: TenantHandle, publisher: EventPublisher, settings: Settings
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.answered_call()
    await projected(tenant.client, call.sid, 4)
    async with open_stream(phony, tenant.key, callSid=call.sid, since="3") as ws:
        assert (await next_event(ws))["seq"] == 4  # replayed: the socket is live from here
        # Event 5 is projected but never published, as when the projector dies between the two:
        # its redelivery then finds it applied and does not publish it again.
        lost = call.envelope(said("caller", "lost on the way"))
        async with bound_read_models(settings):
            assert await apply(lost, SeqMemory())
        call.events.append(lost)
        await publisher.publish(lost)
        await call.add(said("caller", "next"))
        assert [await next_event(ws) for _ in range(2)] == [lost.public(), call.events[-1].public()]


@pytest.mark.parametrize(
    ("key", "reason"),
    [("pk_live_not-a-key", "invalid API key"), (None, "missing API key: send Authorization: Bearer <key>")],
)
async def test_bad_or_missing_key_is_refused_with_policy_violation(
    phony: PhonyProcess, key: str | None, reason: str
) -> None:
    async with open_stream(phony, key) as ws:
        close = await close_of(ws)
    assert (close.code, close.reason) == (1008, reason)


async def test_another_tenants_call_is_refused_as_not_found(
    phony: PhonyProcess, tenant: TenantHandle, other_tenant: TenantHandle, publisher: EventPublisher
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.started()
    await projected(tenant.client, call.sid, 1)
    async with open_stream(phony, other_tenant.key, callSid=call.sid) as ws:
        close = await close_of(ws)
    assert (close.code, close.reason) == (1008, "call not found")


async def test_since_without_a_call_is_refused(phony: PhonyProcess, tenant: TenantHandle) -> None:
    async with open_stream(phony, tenant.key, since="3") as ws:
        close = await close_of(ws)
    assert close.code == 1008
    assert "since needs callSid" in close.reason


async def test_since_past_a_64_bit_integer_is_refused(
    phony: PhonyProcess, tenant: TenantHandle, publisher: EventPublisher
) -> None:
    call = CallScript(publisher, tenant.id)
    await call.started()
    await projected(tenant.client, call.sid, 1)
    async with open_stream(phony, tenant.key, callSid=call.sid, since=str(2**63)) as ws:
        close = await close_of(ws)
    assert (close.code, close.reason) == (1008, "since must be a non-negative integer")


async def limit_sockets(admin: httpx.AsyncClient, tenant: TenantHandle, limit: int) -> None:
    r = await admin.patch(f"/tenants/{tenant.id}", json={"limits": {"websockets": limit}})
    assert r.status_code == 200, r.text


async def test_socket_over_the_keys_limit_is_refused(
    phony: PhonyProcess, admin: httpx.AsyncClient, tenant: TenantHandle, redis: Redis, settings: Settings
) -> None:
    await limit_sockets(admin, tenant, 2)
    async with open_stream(phony, tenant.key) as one, open_stream(phony, tenant.key) as two:
        await serving(one, redis, settings, tenant.id)
        await serving(two, redis, settings, tenant.id)
        async with open_stream(phony, tenant.key) as three:
            close = await close_of(three)
    assert (close.code, close.reason) == (1008, "too many event WebSockets for this API key (limit 2)")


async def test_closing_a_socket_frees_its_place_under_the_limit(
    phony: PhonyProcess, admin: httpx.AsyncClient, tenant: TenantHandle, redis: Redis, settings: Settings
) -> None:
    await limit_sockets(admin, tenant, 1)
    async with open_stream(phony, tenant.key) as first:
        await serving(first, redis, settings, tenant.id)

    async def second_is_accepted() -> bool:
        async with open_stream(phony, tenant.key) as second:
            with contextlib.suppress(ConnectionClosed):
                await serving(second, redis, settings, tenant.id)
                return True
        return False

    assert await eventually(second_is_accepted, bool, within=10)


async def test_revoked_key_closes_its_open_socket(
    phony: PhonyProcess, admin: httpx.AsyncClient, tenant: TenantHandle, redis: Redis, settings: Settings
) -> None:
    async with open_stream(phony, tenant.key) as ws:
        await serving(ws, redis, settings, tenant.id)
        r = await admin.delete(f"/tenants/{tenant.id}/api-keys/{tenant.key_id}")
        assert r.json()["active"] is False, r.text
        close = await close_of(ws)
    assert (close.code, close.reason) == (1008, "API key revoked")


async def slow_reader(phony: PhonyProcess, key: str) -> ClientConnection:
    """A client that takes one frame and then stops reading, on a socket with a tiny receive buffer,
    so the server's writes back up after a few hundred kilobytes."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", phony.port))
    return await connect(
        ws_url(phony),
        sock=sock,
        additional_headers={"Authorization": f"Bearer {key}"},
        proxy=None,
        compression=None,
        max_queue=1,
    )


async def test_slow_subscriber_is_closed_with_1013_while_a_fast_one_keeps_receiving(
    phony: PhonyProcess, tenant: TenantHandle, redis: Redis, settings: Settings
) -> None:
    slow = await slow_reader(phony, tenant.key)
    try:
        async with open_stream(phony, tenant.key) as fast:
            await serving(fast, redis, settings, tenant.id)
            await serving(slow, redis, settings, tenant.id)
            sid, text = f"CAburst{uuid.uuid4().hex}", uuid.uuid4().hex * 500  # 16 kB, incompressible enough
            channel = tenant_channel(settings, tenant.id)
            total, chunk = 1600, 100
            for start in range(1, total + 1, chunk):
                # Straight onto the fan-out channel (the hub's input): fast, and in chunks the fast
                # client drains, so Redis never holds much for the hub.
                async with redis.pipeline(transaction=False) as pipe:
                    for seq in range(start, start + chunk):
                        speech = said("caller", text)
                        event = envelope_for(speech, aggregate_id=sid, tenant_id=tenant.id, seq=seq)
                        pipe.publish(channel, event.to_json())
                    await pipe.execute()
                assert await seqs_until(fast, start + chunk - 1, sid) == list(range(start, start + chunk))
        close = await close_of(slow)
    finally:
        await slow.close()
    assert close.code == 1013
    assert close.reason.startswith("subscriber too slow")
