"""What a call's handlers share: connections, the writer, the live sessions of this worker's calls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from faststream.kafka import KafkaBroker
from openai import AsyncOpenAI
from pymongo.asynchronous.database import AsyncDatabase
from redis.asyncio import Redis

from phony.commands import tell_applied
from phony.config import Settings
from phony.events import EventData, EventEnvelope
from phony.events.calls import CallEnded
from phony.workers.calls.state import CallState, call_ended
from phony.workers.calls.telephony import Telephony
from phony.workers.store import AggregateStore
from phony.workers.writer import EventWriter

if TYPE_CHECKING:
    from phony.workers.calls.session import LiveCall


def audio_channel(settings: Settings, call_sid: str) -> str:
    """Redis channel carrying audio, marks and clears for a call to the edge holding its socket."""
    return settings.channel(f"audio:{call_sid}")


@dataclass
class CallDeps:
    settings: Settings
    store: AggregateStore
    writer: EventWriter
    broker: KafkaBroker
    redis: Redis
    database: AsyncDatabase[dict[str, Any]]
    openai: AsyncOpenAI
    telephony: Telephony
    live: dict[str, LiveCall] = field(default_factory=dict)

    def state(self, call_sid: str) -> CallState:
        state = self.store.get("call", call_sid)
        assert isinstance(state, CallState)
        return state

    async def emit(
        self, call_sid: str, payloads: Sequence[EventData], command_id: str | None = None
    ) -> list[EventEnvelope]:
        """Append events to a started call (serialised per call by the writer). Events that end the
        call are dropped if it has ended meanwhile: two ways of ending can race (the AI hangs up
        while Twilio reports the hang-up), and a call ends exactly once."""
        state = self.state(call_sid)
        ending = any(isinstance(p, CallEnded) for p in payloads)
        emitted = await self.writer.emit(
            state,
            payloads,
            aggregate_id=call_sid,
            tenant_id=state.tenant_id,
            command_id=command_id,
            unless=call_ended if ending else None,
        )
        if not emitted and command_id is not None:  # nothing to project: answer the REST caller here
            await tell_applied(self.redis, self.settings, command_id, call_sid)
        return emitted

    def audio_url(self, call_sid: str, response_id: str) -> str:
        return f"{self.settings.base_url}/calls/{call_sid}/responses/{response_id}/audio"
