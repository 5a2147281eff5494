"""Request and response bodies of ``/tenants/``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from phony.edge.schemas.common import JsonNumber, Name, Timestamp
from phony.events.tenants import TenantLimits, TenantStatus

TenantName = Name


def _numbers_only(value: object) -> object:
    # TenantLimits is the event's own payload, which takes true for 1 and "5" for 5; a request may not.
    if isinstance(value, dict):
        for name, limit in value.items():
            if isinstance(limit, bool | str):
                raise PydanticCustomError("number_type", "{name} should be a JSON number", {"name": name})
    return value


Limits = Annotated[TenantLimits, BeforeValidator(_numbers_only)]


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: TenantName
    limits: Limits = TenantLimits()


class TenantPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: TenantName | None = None
    status: TenantStatus | None = None
    limits: Limits | None = None


class TenantOut(BaseModel):
    id: str
    name: str
    status: TenantStatus
    limits: TenantLimits
    created_at: datetime
    updated_at: datetime


class TenantList(BaseModel):
    tenants: list[TenantOut]
    total: int
    limit: int
    offset: int


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(max_length=200)] = "default"
    expires_at: Timestamp | None = Field(None, description="When the key stops working (UTC)")
    expires_in_seconds: Annotated[int, Field(ge=1, le=10 * 365 * 86400), JsonNumber] | None = None


class ApiKeyOut(BaseModel):
    """A key as listed: its prefix and metadata, never the key."""

    id: str
    tenant_id: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    active: bool


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The API key. Shown only in this response: store it now.")


class ApiKeyList(BaseModel):
    api_keys: list[ApiKeyOut]
