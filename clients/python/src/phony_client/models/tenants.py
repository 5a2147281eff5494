"""Bodies of ``/tenants/``: tenants (operator) and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from phony_client.models._base import RequestModel, ResponseModel

TenantStatus = Literal["active", "suspended"]


class TenantLimits(ResponseModel):
    """Per-tenant rate limits (``None``: the deployment's default). Sent as well as read."""

    agents_per_minute: int | None = None
    calls_per_minute: int | None = None
    websockets: int | None = None


class TenantCreate(RequestModel):
    name: str
    limits: TenantLimits | None = None


class TenantUpdate(RequestModel):
    name: str | None = None
    status: TenantStatus | None = None
    limits: TenantLimits | None = None


class Tenant(ResponseModel):
    id: str
    name: str
    status: TenantStatus | str
    limits: TenantLimits
    created_at: datetime
    updated_at: datetime


class TenantList(ResponseModel):
    tenants: list[Tenant]
    total: int
    limit: int
    offset: int


class ApiKeyCreate(RequestModel):
    name: str | None = None
    expires_at: datetime | None = None
    expires_in_seconds: int | None = None


class ApiKey(ResponseModel):
    """A key as listed: its prefix and metadata, never the key itself."""

    id: str
    tenant_id: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    active: bool


class ApiKeyCreated(ApiKey):
    key: str = Field(description="The API key; shown only in this response")


class ApiKeyList(ResponseModel):
    api_keys: list[ApiKey]
