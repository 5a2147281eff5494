"""The projector: applies each event once to the read models, keeps an indexed copy of it, then
tells the waiting REST call (command outcome) and the live subscribers (fan-out through Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from bson.errors import InvalidDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure
from redis.asyncio import Redis

from phony import epochs
from phony.commands import tell_applied, tell_parked
from phony.config import Settings
from phony.events import EventEnvelope, payload_of
from phony.events.agents import AgentCreated, AgentDeleted, AgentUpdated
from phony.events.tenants import ApiKeyIssued, ApiKeyRevoked, TenantCreated, TenantUpdated
from phony.projections import agents, calls, queries, tenants
from phony.projections.documents import StoredEvent
from phony.projections.fanout import publish_event
from phony.projections.parking import refused_by_store
from phony.projections.stored_events import stored

log = logging.getLogger(__name__)

DUPLICATE_KEY = 11000

Handler = Callable[[EventEnvelope, Any], Awaitable[None]]

# What changes the answer to "who is this key?" (its revocation; its tenant's status and limits, which
# the key documents carry): each renews the auth epoch, so no edge uses what it remembered of them.
KEY_CHANGES = frozenset({ApiKeyRevoked.TYPE, TenantUpdated.TYPE})

HANDLERS: Mapping[str, Handler] = {
    TenantCreated.TYPE: tenants.tenant_created,
    TenantUpdated.TYPE: tenants.tenant_updated,
    ApiKeyIssued.TYPE: tenants.api_key_issued,
    ApiKeyRevoked.TYPE: tenants.api_key_revoked,
    AgentCreated.TYPE: agents.agent_created,
    AgentUpdated.TYPE: agents.agent_updated,
    AgentDeleted.TYPE: agents.agent_deleted,
    **calls.HANDLERS,
}


class SeqMemory:
    """The last ``seq`` applied per aggregate, so a redelivery is recognised without a query.

    Bounded: an aggregate it forgot (or never saw since start) is checked against the stored copy.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._last: OrderedDict[str, int] = OrderedDict()
        self._capacity = capacity

    def get(self, aggregate_id: str) -> int | None:
        return self._last.get(aggregate_id)

    def set(self, aggregate_id: str, seq: int) -> None:
        self._last[aggregate_id] = seq
        self._last.move_to_end(aggregate_id)
        if len(self._last) > self._capacity:
            self._last.popitem(last=False)


class KeyedLock:
    """One lock per key, held only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


async def apply(event: EventEnvelope, memory: SeqMemory, turns: KeyedLock | None = None) -> bool:
    """Apply ``event`` to the read models unless it already was; ``True`` if applied now.

    With ``turns``, an agent event's change of the read models waits for the other events of its
    tenant that ``turns`` is applying (they change the tenant's tally in a transaction: applied side by
    side they would conflict in the store and start again).

    The first event of an aggregate creates its document with an insert, which fails if it exists;
    later events set absolute values, so the one window where an event can be applied twice (a crash
    between its handler and storing its copy) still leaves the same documents. Only an aggregate the
    memory does not know costs a lookup (by ``_id``).
    """
    known = memory.get(event.aggregate_id)
    if known is not None and event.seq <= known:
        return False
    if known is None and event.seq > 1:
        found = await queries.stored_event(event.aggregate_id, event.seq).first()
        if found is not None:
            memory.set(event.aggregate_id, event.seq)
            return False
    handler = HANDLERS.get(event.type)
    applied = True
    try:
        if handler is not None:
            turn: contextlib.AbstractAsyncContextManager[None] = contextlib.nullcontext()
            if turns is not None and event.aggregate_type == "agent":
                turn = turns.hold(event.tenant_id)
            async with turn:
                await handler(event, payload_of(event))
    except DuplicateKeyError:
        applied = False  # the document this event creates exists: applied before
    try:
        await stored(event).insert()
    except DuplicateKeyError:
        applied = False
    memory.set(event.aggregate_id, event.seq)
    return applied


class Projector:
    """``apply`` plus the notifications that follow it in a live deployment, the partitions it
    applies side by side taking turns per tenant for agent events (see ``apply``)."""

    def __init__(self, settings: Settings, redis: Redis) -> None:
        self._settings = settings
        self._redis = redis
        self._memory = SeqMemory()
        self._tenants = KeyedLock()

    async def handle(self, event: EventEnvelope) -> None:
        applied = await apply(event, self._memory, self._tenants)
        await self._followed([event], applied)

    async def _followed(self, events: list[EventEnvelope], applied: bool) -> None:
        """What follows applying ``events``, also after a redelivery (the crash may have come before
        it): the epochs of what they change renewed (each once), then each published if ``applied``,
        and a REST call waiting for its command told."""
        changed = {epochs.AUTH for e in events if e.type in KEY_CHANGES}
        changed |= {epochs.agents_of(e.tenant_id) for e in events if e.aggregate_type == "agent"}
        for name in sorted(changed):
            await epochs.renew(self._redis, self._settings, name)
        for event in events:
            if applied:
                await publish_event(self._redis, self._settings, event)
            if event.command_id and event.command_final:
                await tell_applied(self._redis, self._settings, event.command_id, event.aggregate_id)

    async def handle_created(self, created: list[EventEnvelope]) -> list[EventEnvelope]:
        """Apply creations of one tenant's agents from one batch together when they can be
        (``agents.agents_created``), then what follows each; returns those applied. The rest (one
        alone, one applied before, or creations not all after the tenant's last agent) are left to
        :meth:`handle`, one by one, as is everything when the store refuses the group."""
        fresh = [e for e in created if self._memory.get(e.aggregate_id) is None]
        if len(fresh) < 2:
            return []
        tenant_id = fresh[0].tenant_id
        pairs = [(e, data) for e in fresh if isinstance(data := payload_of(e), AgentCreated)]
        try:
            async with self._tenants.hold(tenant_id):
                await agents.agents_created(tenant_id, pairs)
        except (agents.NotAppended, DuplicateKeyError, BulkWriteError):
            return []
        except Exception as exc:
            if refused_by_store(exc):
                return []
            raise
        try:
            await StoredEvent.insert_many([stored(e) for e in fresh], ordered=False)
        except BulkWriteError as exc:  # a copy kept before a crash: the same copy
            if any(error["code"] != DUPLICATE_KEY for error in exc.details["writeErrors"]):
                raise
        for event in fresh:
            self._memory.set(event.aggregate_id, event.seq)
        await self._followed(fresh, applied=True)
        return fresh

    async def handle_parked(self, event: EventEnvelope, reason: str) -> None:
        """What follows an event the store refused, once it is parked: its copy kept if the store
        takes that (the call's event history has no gap), the live subscribers told (it happened),
        and a waiting REST call told it cannot read its result back."""
        with contextlib.suppress(DuplicateKeyError, OperationFailure, InvalidDocument):
            await stored(event).insert()
        self._memory.set(event.aggregate_id, event.seq)
        await publish_event(self._redis, self._settings, event)
        if event.command_id and event.command_final:
            await tell_parked(self._redis, self._settings, event.command_id, event.aggregate_id, reason)
