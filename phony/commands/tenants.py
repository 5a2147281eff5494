"""Commands on the tenant aggregate (tenants and their API keys)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from phony.commands.base import Command
from phony.events.tenants import TenantLimits, TenantStatus


class CreateTenant(Command):
    type: Literal["tenant.create"] = "tenant.create"
    name: str
    limits: TenantLimits = TenantLimits()


class UpdateTenant(Command):
    type: Literal["tenant.update"] = "tenant.update"
    name: str | None = None
    status: TenantStatus | None = None
    limits: TenantLimits | None = None


class IssueApiKey(Command):
    """Carries only the key's hash: the key itself is shown once to the caller and never logged."""

    type: Literal["api_key.issue"] = "api_key.issue"
    key_id: str
    name: str
    prefix: str
    key_hash: str
    expires_at: datetime | None = None


class RevokeApiKey(Command):
    type: Literal["api_key.revoke"] = "api_key.revoke"
    key_id: str
