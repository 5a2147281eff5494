"""``WS /events/ws``: live call events of the key's tenant, or of one call, as JSON text messages.

Query: ``callSid`` (one call; else every call of the tenant), ``since`` (with ``callSid``: first the
stored events with a greater seq, then live, with no gap and no duplicate), ``token`` (the API key, for
browsers; or send ``Authorization: Bearer <key>``). Each message is one event in its public envelope
form ``{id, type, version, aggregate_type, aggregate_id, call_sid, tenant_id, seq, timestamp, data}``;
each call's events arrive in seq order.

The handshake is always accepted, so that every refusal can say why in its close frame (browsers see
no HTTP status for a refused handshake):

- 1008 policy violation: missing, unknown, revoked or expired key, suspended tenant (also when the
  key is revoked while the socket is open: keys are re-checked every ``PHONY_WS_AUTH_RECHECK_S``);
  ``call not found`` (unknown or another tenant's call); bad query parameters; more open sockets
  than the key may hold (``PHONY_WS_MAX_PER_KEY``, or the tenant's ``limits.websockets``, counted
  across all edge processes).
- 1013 try again later: the client fell more than ``PHONY_WS_QUEUE_SIZE`` events behind; the reason
  says ``reconnect with since=<last seq received>``.
- 1011 internal error: the event stream or store failed; reconnect with ``since=``.
- 1001 going away: the server is shutting down.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError
from starlette.websockets import WebSocketState

from phony.edge.auth import Principal, presented_key, tenant_for_key
from phony.edge.deps import Ctx
from phony.edge.errors import BSON_INT_MAX, ApiError
from phony.edge.live.session import INTERNAL_ERROR, POLICY_VIOLATION, Close, EventSocket, StreamRequest
from phony.projections import queries

router = APIRouter(tags=["events"])

# A client that stopped reading holds the close frame up; past this (or uvicorn's ping timeout, which
# drops a client that answers nothing) the connection is let go without it.
CLOSE_TIMEOUT_S = 60.0


class Refused(Exception):
    """The socket is closed with 1008 and this reason before it streams anything."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.close = Close(POLICY_VIOLATION, reason[:120])


def _request(websocket: WebSocket) -> StreamRequest:
    params = websocket.query_params
    call_sid = params.get("callSid") or None
    raw_since = params.get("since")
    since: int | None = None
    if raw_since is not None:
        if not (raw_since.isascii() and raw_since.isdigit()) or int(raw_since) > BSON_INT_MAX:
            raise Refused("since must be a non-negative integer")
        if call_sid is None:
            raise Refused("since needs callSid: seq counts the events of one call")
        since = int(raw_since)
    return StreamRequest(call_sid=call_sid, since=since)


async def _principal(websocket: WebSocket, ctx: Ctx) -> Principal:
    key = presented_key(websocket.headers.get("authorization"), websocket.query_params.get("token"))
    try:
        return await tenant_for_key(key, ctx.keys)
    except ApiError as exc:
        raise Refused(exc.message) from exc


async def _check_call(principal: Principal, call_sid: str | None) -> None:
    if call_sid is None:
        return
    doc = await queries.call(call_sid, "tenant_id").first()
    if doc is None or doc["tenant_id"] != principal.tenant_id:
        raise Refused("call not found")


async def _close(websocket: WebSocket, close: Close) -> None:
    if websocket.application_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(close.code, close.reason), CLOSE_TIMEOUT_S)


@router.websocket("/events/ws")
async def events_ws(websocket: WebSocket, ctx: Ctx) -> None:
    """Stream call events (see the module documentation for parameters and close codes)."""
    await websocket.accept()
    try:
        request = _request(websocket)
        principal = await _principal(websocket, ctx)
        await _check_call(principal, request.call_sid)
        limit = principal.limits.get("websockets") or ctx.settings.ws_max_per_key
        lease = await ctx.leases.acquire(principal.key_id, limit)
        if lease is None:
            raise Refused(f"too many event WebSockets for this API key (limit {limit})")
    except Refused as refused:
        await _close(websocket, refused.close)
        return
    except (PyMongoError, RedisError):
        await _close(websocket, Close(INTERNAL_ERROR, "a dependency is unavailable; reconnect later"))
        return
    try:
        socket = EventSocket(websocket, ctx.settings, ctx.hub, ctx.leases, principal, request, lease)
        ctx.metrics.event_sockets_open.inc()
        try:
            close = await socket.serve()
        finally:
            ctx.metrics.event_sockets_open.dec()
    finally:
        # Before the close handshake, which a stalled client can hold up: its place is free at once.
        with contextlib.suppress(Exception):
            await ctx.leases.release(principal.key_id, lease)
    if close is not None:
        await _close(websocket, close)
