"""Projects agent events into ``agents`` (deleted agents stay as tombstones, invisible to the API)."""

from __future__ import annotations

from phony.events import EventEnvelope
from phony.events.agents import AgentCreated, AgentDeleted, AgentUpdated
from phony.projections.documents import AgentDoc


async def agent_created(event: EventEnvelope, data: AgentCreated) -> None:
    await AgentDoc(
        id=event.aggregate_id,
        tenant_id=event.tenant_id,
        created_at=event.timestamp,
        updated_at=event.timestamp,
        **data.settings.model_dump(),
    ).insert()


async def agent_updated(event: EventEnvelope, data: AgentUpdated) -> None:
    await AgentDoc.get_pymongo_collection().update_one(
        {"_id": event.aggregate_id},
        {"$set": {**data.settings.model_dump(), "updated_at": event.timestamp}},
    )


async def agent_deleted(event: EventEnvelope, data: AgentDeleted) -> None:
    await AgentDoc.get_pymongo_collection().update_one(
        {"_id": event.aggregate_id}, {"$set": {"deleted": True, "updated_at": event.timestamp}}
    )
