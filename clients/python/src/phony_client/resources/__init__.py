"""The resources of a client (``client.agents``, ``client.calls``, …)."""

from phony_client.resources.agents import Agents, AsyncAgents
from phony_client.resources.calls import AsyncCalls, Calls
from phony_client.resources.events import AsyncEvents, Events
from phony_client.resources.overrides import AsyncOverrides, Overrides
from phony_client.resources.tenants import ApiKeys, AsyncApiKeys, AsyncTenants, Tenants

__all__ = [
    "Agents",
    "ApiKeys",
    "AsyncAgents",
    "AsyncApiKeys",
    "AsyncCalls",
    "AsyncEvents",
    "AsyncOverrides",
    "AsyncTenants",
    "Calls",
    "Events",
    "Overrides",
    "Tenants",
]
