"""Fan-out of projected events to events-WebSocket subscribers, through Redis pub/sub."""

from __future__ import annotations

from redis.asyncio import Redis

from phony.config import Settings
from phony.events import EventEnvelope


def tenant_channel(settings: Settings, tenant_id: str) -> str:
    """Every event of a tenant (the per-call stream filters on ``call_sid``)."""
    return settings.channel(f"events:{tenant_id}")


async def publish_event(redis: Redis, settings: Settings, event: EventEnvelope) -> None:
    """Publish a projected event to its tenant's channel."""
    await redis.publish(tenant_channel(settings, event.tenant_id), event.to_json())
