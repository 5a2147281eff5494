"""Facts about tenants and their API keys (one aggregate per tenant, keyed by ``tenant_id``)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from phony.events.base import EventData
from phony.events.envelope import AggregateType

TenantStatus = Literal["active", "suspended"]


class TenantLimits(BaseModel):
    """Per-tenant overrides of the default rate limits (``None``: the deployment's default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agents_per_minute: int | None = Field(None, ge=1, le=100_000)
    calls_per_minute: int | None = Field(None, ge=1, le=100_000)
    websockets: int | None = Field(None, ge=1, le=10_000)


class _TenantEvent(EventData):
    AGGREGATE: ClassVar[AggregateType] = "tenant"


class TenantCreated(_TenantEvent):
    TYPE: ClassVar[str] = "tenant.created"
    name: str
    status: TenantStatus = "active"
    limits: TenantLimits = TenantLimits()


class TenantUpdated(_TenantEvent):
    """The tenant's whole state after the change (absolute, so re-applying it is harmless)."""

    TYPE: ClassVar[str] = "tenant.updated"
    name: str
    status: TenantStatus
    limits: TenantLimits


class ApiKeyIssued(_TenantEvent):
    """A key was issued; only its SHA-256 hash and display prefix are kept, never the key."""

    TYPE: ClassVar[str] = "api_key.issued"
    key_id: str
    name: str
    prefix: str
    key_hash: str
    expires_at: datetime | None = None


class ApiKeyRevoked(_TenantEvent):
    TYPE: ClassVar[str] = "api_key.revoked"
    key_id: str
