"""The edge process's subscriptions to the tenants' event channels for the events WebSockets: a
:class:`~phony.edge.channels.ChannelHub` that decodes each event once and offers it to every socket
watching the tenant (or the one call the socket is for)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from pydantic import ValidationError
from redis.asyncio import Redis

from phony.config import Settings
from phony.edge.channels import ChannelHub, HubUnavailable
from phony.edge.live.subscription import LiveEvent, Subscription
from phony.events import decode
from phony.projections.fanout import tenant_channel

__all__ = ["EventHub", "HubUnavailable"]

log = logging.getLogger(__name__)


def _live_event(raw: bytes) -> LiveEvent | None:
    try:
        event = decode(raw)
    except (ValidationError, LookupError, ValueError):
        log.error("undecodable event dropped")
        return None
    if event.aggregate_type != "call":
        return None  # the stream is of calls; agent and tenant events share the channel
    return LiveEvent.of(event)


class EventHub:
    """Shared subscriptions to the tenants' event channels for this process's sockets."""

    def __init__(self, settings: Settings, redis: Redis) -> None:
        self._settings = settings
        self._channels: ChannelHub[LiveEvent] = ChannelHub(redis, "events", _live_event)

    async def start(self) -> None:
        await self._channels.start()

    async def stop(self) -> None:
        """End every subscription (their sockets close with 1001) and the Redis connection."""
        await self._channels.stop()

    @contextlib.asynccontextmanager
    async def subscribe(self, tenant_id: str, call_sid: str | None, size: int) -> AsyncIterator[Subscription]:
        """A live feed of the tenant's call events (of one call if ``call_sid``), yielded once Redis
        confirmed the subscription, so whatever is published from then on reaches it."""
        sub = Subscription(call_sid, size)
        async with self._channels.listen(tenant_channel(self._settings, tenant_id), sub):
            yield sub
