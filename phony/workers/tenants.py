"""Tenant aggregate: decide (command -> events) and fold (event -> state)."""

from __future__ import annotations

from dataclasses import dataclass, field

from phony.commands.tenants import CreateTenant, IssueApiKey, RevokeApiKey, UpdateTenant
from phony.events import EventData
from phony.events.tenants import (
    ApiKeyIssued,
    ApiKeyRevoked,
    TenantCreated,
    TenantLimits,
    TenantStatus,
    TenantUpdated,
)
from phony.workers.decisions import AggregateState, Decision, Refusal, not_found

TenantCommand = CreateTenant | UpdateTenant | IssueApiKey | RevokeApiKey


@dataclass
class TenantState(AggregateState):
    name: str = ""
    status: TenantStatus = "active"
    limits: TenantLimits = field(default_factory=TenantLimits)
    keys: dict[str, bool] = field(default_factory=dict)  # key id -> revoked


def fold_tenant(state: TenantState, data: EventData) -> None:
    """Apply one tenant event to the state (pure, also used to restore after a rebalance)."""
    match data:
        case TenantCreated():
            state.name, state.status, state.limits = data.name, data.status, data.limits
        case TenantUpdated():
            state.name, state.status, state.limits = data.name, data.status, data.limits
        case ApiKeyIssued():
            state.keys[data.key_id] = False
        case ApiKeyRevoked():
            state.keys[data.key_id] = True


def decide_tenant(state: TenantState, command: TenantCommand) -> Decision:
    """The events that follow from ``command`` given ``state``."""
    if isinstance(command, CreateTenant):
        if state.exists:
            raise Refusal("CONFLICT", 409, "tenant already exists", id=command.aggregate_id)
        return [TenantCreated(name=command.name, limits=command.limits)]
    if not state.exists:
        raise not_found("tenant", command.aggregate_id)
    match command:
        case UpdateTenant():
            updated = TenantUpdated(
                name=command.name if command.name is not None else state.name,
                status=command.status or state.status,
                limits=command.limits if command.limits is not None else state.limits,
            )
            unchanged = (updated.name, updated.status, updated.limits) == (
                state.name,
                state.status,
                state.limits,
            )
            return [] if unchanged else [updated]
        case IssueApiKey():
            if command.key_id in state.keys:
                return []
            return [
                ApiKeyIssued(
                    key_id=command.key_id,
                    name=command.name,
                    prefix=command.prefix,
                    key_hash=command.key_hash,
                    expires_at=command.expires_at,
                )
            ]
        case RevokeApiKey():
            if command.key_id not in state.keys:
                raise not_found("API key", command.key_id)
            return [] if state.keys[command.key_id] else [ApiKeyRevoked(key_id=command.key_id)]
    raise AssertionError(f"unhandled {command!r}")
