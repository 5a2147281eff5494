"""One events WebSocket, once accepted and authorised: replay from the store, then live events in seq
order, while its key is re-checked and its lease under the key's socket limit renewed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from pymongo.errors import PyMongoError
from redis.exceptions import RedisError
from starlette.websockets import WebSocket, WebSocketDisconnect

from phony.config import Settings
from phony.edge.auth import Principal, key_problem
from phony.edge.live.hub import EventHub, HubUnavailable
from phony.edge.live.leases import SocketLeases
from phony.edge.live.order import CallOrder
from phony.edge.live.subscription import LiveEvent, Subscription, SubscriptionEnded
from phony.projections import queries
from phony.projections.stored_events import read_events

log = logging.getLogger(__name__)

GOING_AWAY = 1001
POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011
TRY_AGAIN_LATER = 1013

REPLAY_BATCH = 500  # events read from the store at a time (ten pages)


@dataclass(frozen=True)
class Close:
    """How the server ends a socket (``reason`` at most 123 bytes, as the protocol allows)."""

    code: int
    reason: str


@dataclass(frozen=True)
class StreamRequest:
    """What the client asked for: one call (``call_sid``) or the whole tenant, from ``since`` or live."""

    call_sid: str | None
    since: int | None


class EventSocket:
    """Streams a tenant's (or one call's) events to an accepted WebSocket until one side stops."""

    def __init__(
        self,
        websocket: WebSocket,
        settings: Settings,
        hub: EventHub,
        leases: SocketLeases,
        principal: Principal,
        request: StreamRequest,
        lease: str,
    ) -> None:
        self._ws = websocket
        self._settings = settings
        self._hub = hub
        self._leases = leases
        self._principal = principal
        self._request = request
        self._lease = lease
        self._order = CallOrder()

    async def serve(self) -> Close | None:
        """Stream until the client leaves (``None``) or the server has a reason to close the socket."""
        try:
            async with self._hub.subscribe(
                self._principal.tenant_id, self._request.call_sid, self._settings.ws_queue_size
            ) as sub:
                await self._replay()
                return await self._run(sub)
        except HubUnavailable:
            return Close(INTERNAL_ERROR, f"event stream unavailable; {self._resume_hint()}")
        except WebSocketDisconnect:
            return None
        except (PyMongoError, RedisError) as exc:
            log.warning("events socket: a dependency is unavailable: %s", exc)
            return Close(INTERNAL_ERROR, f"event stream unavailable; {self._resume_hint()}")

    async def _replay(self) -> None:
        """For a call: the stored events after ``since`` (by default none: live from now). Runs after the
        subscription is confirmed, so every later event is in the live buffer; overlaps are dropped."""
        sid = self._request.call_sid
        if sid is None:
            return
        doc = await queries.call(sid, "last_seq").first()
        last = int(doc["last_seq"]) if doc is not None else 0
        start = self._request.since if self._request.since is not None else last
        sent = start
        for batch_start in range(start, last, REPLAY_BATCH):
            # In batches: a long call's history is not held in memory (or asked for) all at once.
            for event in await read_events(sid, batch_start, min(last, batch_start + REPLAY_BATCH)):
                await self._ws.send_text(LiveEvent.of(event).text)
                sent = event.seq
        # What was sent, not ``last``: the projector sets the call's last_seq before it stores the
        # event's copy, so the newest events may not be readable yet; they come live (each is
        # published once stored), and marking them sent would drop them.
        self._order.mark(sid, sent)

    async def _run(self, sub: Subscription) -> Close | None:
        tasks = [
            asyncio.create_task(self._pump(sub)),
            asyncio.create_task(self._receive()),
            asyncio.create_task(self._watch(sub)),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        outcomes = [self._outcome(task, sub) for task in tasks if task in done]
        return next((o for o in outcomes if o is not None), None)

    def _outcome(self, task: asyncio.Task[Close | None], sub: Subscription) -> Close | None:
        exc = task.exception()
        if exc is None:
            return task.result()
        if isinstance(exc, WebSocketDisconnect):
            return None
        if isinstance(exc, SubscriptionEnded):
            return self._ended(sub)
        if isinstance(exc, PyMongoError):
            log.warning("events socket: store unavailable: %s", exc)
            return Close(INTERNAL_ERROR, f"event store unavailable; {self._resume_hint()}")
        log.error("events socket failed", exc_info=exc)
        return Close(INTERNAL_ERROR, "internal error")

    async def _pump(self, sub: Subscription) -> Close | None:
        while True:
            event = await sub.get()
            for out in await self._order.admit(event):
                await self._ws.send_text(out.text)

    async def _receive(self) -> Close | None:
        # Clients have nothing to say here; reading notices their leaving and keeps frames flowing.
        while (await self._ws.receive())["type"] != "websocket.disconnect":
            pass
        return None

    async def _watch(self, sub: Subscription) -> Close | None:
        """Every ``ws_auth_recheck_s``: is the key still good, and keep the lease; at once if the hub
        ended the subscription (the pump may be stuck sending to the slow client it concerns)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sub.ended.wait(), self._settings.ws_auth_recheck_s)
            if sub.reason is not None:
                return self._ended(sub)
            try:
                problem = await key_problem(self._principal)
                await self._leases.renew(self._principal.key_id, self._lease)
            except (PyMongoError, RedisError) as exc:
                # Fail open: while the store is down no key can be revoked anyway.
                log.warning("events socket: cannot re-check key: %s", exc)
                continue
            if problem is not None:
                return Close(POLICY_VIOLATION, problem)

    def _ended(self, sub: Subscription) -> Close:
        if sub.reason == "shutdown":
            return Close(GOING_AWAY, f"server shutting down; {self._resume_hint()}")
        if sub.reason == "interrupted":
            return Close(INTERNAL_ERROR, f"event stream interrupted; {self._resume_hint()}")
        return Close(TRY_AGAIN_LATER, f"subscriber too slow; {self._resume_hint()}")

    def _resume_hint(self) -> str:
        sid = self._request.call_sid
        if sid is None:
            return "reconnect (since= on a call's stream fills its gap)"
        last = self._order.last(sid)
        return f"reconnect with since={last if last is not None else self._request.since or 0}"
