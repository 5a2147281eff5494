"""Phony's Python SDK.

from phony_client import PhonyClient

client = PhonyClient(base_url="http://localhost:24187", api_key="pk_live_...")
agent = client.agents.create(name="Support Bot", phone_numbers=["+15551234567"])
call = client.calls.create(agent_id=agent.id, to_number="+15559876543")
for event in client.events.stream(call.call_sid):
    print(event.type, event.data)
"""

from phony_client import models
from phony_client._client import AsyncPhonyClient, PhonyClient
from phony_client._paging import AsyncPage, SyncPage
from phony_client._types import NOT_GIVEN, NotGiven
from phony_client._version import __version__
from phony_client.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    PhonyError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
)
from phony_client.models import Event, UnknownEvent
from phony_client.streaming import AsyncEventStream, EventStream

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncEventStream",
    "AsyncPage",
    "AsyncPhonyClient",
    "AuthenticationError",
    "ConflictError",
    "Event",
    "EventStream",
    "InternalServerError",
    "NotFoundError",
    "NotGiven",
    "PermissionDeniedError",
    "PhonyClient",
    "PhonyError",
    "RateLimitedError",
    "SyncPage",
    "UnavailableError",
    "UnknownEvent",
    "ValidationError",
    "__version__",
    "models",
]
