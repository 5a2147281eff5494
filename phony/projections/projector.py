"""The projector: applies each event once to the read models, keeps an indexed copy of it, then
tells the waiting REST call (command outcome) and the live subscribers (fan-out through Redis)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pymongo.errors import DuplicateKeyError
from redis.asyncio import Redis

from phony.commands import CommandOutcome, publish_outcome
from phony.config import Settings
from phony.events import EventEnvelope, payload_of
from phony.events.agents import AgentCreated, AgentDeleted, AgentUpdated
from phony.events.tenants import ApiKeyIssued, ApiKeyRevoked, TenantCreated, TenantUpdated
from phony.projections import agents, calls, tenants
from phony.projections.documents import StoredEvent
from phony.projections.fanout import publish_event

log = logging.getLogger(__name__)

Handler = Callable[[EventEnvelope, Any], Awaitable[None]]

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


async def already_projected(event: EventEnvelope) -> bool:
    """Whether this (aggregate, seq) is stored, i.e. was applied before (a redelivery)."""
    found = await StoredEvent.get_pymongo_collection().find_one(
        {"aggregate_id": event.aggregate_id, "seq": event.seq}, projection={"_id": 1}
    )
    return found is not None


async def apply(event: EventEnvelope) -> bool:
    """Apply ``event`` to the read models unless it already was; ``True`` if applied now.

    Handlers set absolute values, so the one window where an event can be applied twice (a crash
    between its handler and storing it) still leaves the same documents.
    """
    if await already_projected(event):
        return False
    handler = HANDLERS.get(event.type)
    if handler is not None:
        await handler(event, payload_of(event))
    try:
        await StoredEvent(
            id=event.id,
            aggregate_type=event.aggregate_type,
            aggregate_id=event.aggregate_id,
            tenant_id=event.tenant_id,
            seq=event.seq,
            type=event.type,
            version=event.version,
            timestamp=event.timestamp,
            data=event.data,
        ).insert()
    except DuplicateKeyError:
        return False
    return True


class Projector:
    """``apply`` plus the notifications that follow it in a live deployment."""

    def __init__(self, settings: Settings, redis: Redis) -> None:
        self._settings = settings
        self._redis = redis

    async def handle(self, event: EventEnvelope) -> None:
        applied = await apply(event)
        if applied:
            await publish_event(self._redis, self._settings, event)
        if event.command_id and event.command_final:
            # Also after a redelivery: a REST call may still be waiting for this command.
            await publish_outcome(
                self._redis,
                self._settings,
                CommandOutcome(
                    command_id=event.command_id, status="applied", aggregate_id=event.aggregate_id
                ),
            )
