"""``/tenants/``: the operator manages tenants and their keys; a tenant manages its own keys (``me``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query, status

from phony.commands.tenants import CreateTenant, IssueApiKey, RevokeApiKey, UpdateTenant
from phony.edge.auth import hash_key, new_api_key
from phony.edge.deps import Admin, Ctx, Tenant
from phony.edge.errors import ApiError, responses
from phony.edge.schemas.common import Offset
from phony.edge.schemas.tenants import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    TenantCreate,
    TenantList,
    TenantOut,
    TenantPatch,
)
from phony.events import new_id
from phony.projections import queries

router = APIRouter(prefix="/tenants", tags=["tenants"], responses=responses(401, 503))


async def _tenant(tenant_id: str) -> TenantOut:
    doc = await queries.tenant(tenant_id).first()
    if doc is None:
        raise ApiError(404, "tenant not found", details={"id": tenant_id})
    return TenantOut.model_validate({**doc, "id": doc["_id"]})


def _key_out(doc: dict[str, Any]) -> ApiKeyOut:
    expires = doc.get("expires_at")
    active = doc.get("revoked_at") is None and (expires is None or expires > datetime.now(UTC))
    return ApiKeyOut.model_validate({**doc, "id": doc["_id"], "active": active})


async def _issue(ctx: Ctx, tenant_id: str, body: ApiKeyCreate) -> ApiKeyCreated:
    await _tenant(tenant_id)
    expires_at = body.expires_at
    if body.expires_in_seconds is not None:
        expires_at = datetime.now(UTC) + timedelta(seconds=body.expires_in_seconds)
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    key, prefix = new_api_key()
    key_id = new_id("key")
    await ctx.bus.execute(
        IssueApiKey(
            tenant_id=tenant_id,
            aggregate_id=tenant_id,
            key_id=key_id,
            name=body.name,
            prefix=prefix,
            key_hash=hash_key(key),
            expires_at=expires_at,
        )
    )
    doc = await queries.key(key_id).first()
    assert doc is not None  # projected before execute() returned
    return ApiKeyCreated.model_validate({**_key_out(doc).model_dump(), "key": key})


async def _keys(tenant_id: str) -> ApiKeyList:
    await _tenant(tenant_id)
    return ApiKeyList(api_keys=[_key_out(d) for d in await queries.keys_of(tenant_id).all()])


async def _revoke(ctx: Ctx, tenant_id: str, key_id: str) -> ApiKeyOut:
    doc = await queries.key(key_id).first()
    if doc is None or doc["tenant_id"] != tenant_id:
        raise ApiError(404, "API key not found", details={"id": key_id})
    await ctx.bus.execute(RevokeApiKey(tenant_id=tenant_id, aggregate_id=tenant_id, key_id=key_id))
    doc = await queries.key(key_id).first()
    assert doc is not None
    return _key_out(doc)


# A tenant's own view. Declared before /{tenant_id} so "me" is never taken for an id.
@router.get("/me", responses=responses(403))
async def my_tenant(caller: Tenant) -> TenantOut:
    return await _tenant(caller.tenant_id)


@router.post("/me/api-keys", status_code=status.HTTP_201_CREATED, responses=responses(403, 422))
async def issue_my_key(body: ApiKeyCreate, ctx: Ctx, caller: Tenant) -> ApiKeyCreated:
    """Issue another key for the caller's tenant; the key is in this response only."""
    return await _issue(ctx, caller.tenant_id, body)


@router.get("/me/api-keys", responses=responses(403))
async def my_keys(caller: Tenant) -> ApiKeyList:
    return await _keys(caller.tenant_id)


@router.delete("/me/api-keys/{key_id}", responses=responses(403, 404))
async def revoke_my_key(key_id: str, ctx: Ctx, caller: Tenant) -> ApiKeyOut:
    """Revoke one of the caller's keys (it is refused from the moment this returns)."""
    return await _revoke(ctx, caller.tenant_id, key_id)


@router.post("/", status_code=status.HTTP_201_CREATED, responses=responses(422))
async def create_tenant(body: TenantCreate, ctx: Ctx, _: Admin) -> TenantOut:
    tenant_id = new_id("tenant")
    await ctx.bus.execute(
        CreateTenant(tenant_id=tenant_id, aggregate_id=tenant_id, name=body.name, limits=body.limits)
    )
    return await _tenant(tenant_id)


@router.get("/", responses=responses(422))
async def list_tenants(_: Admin, limit: int = Query(20, ge=1, le=100), offset: Offset = 0) -> TenantList:
    query = queries.tenants()
    total, docs = await asyncio.gather(query.count(), query.page(offset, limit))
    tenants = [TenantOut.model_validate({**d, "id": d["_id"]}) for d in docs]
    return TenantList(tenants=tenants, total=total, limit=limit, offset=offset)


@router.get("/{tenant_id}", responses=responses(404))
async def get_tenant(tenant_id: str, _: Admin) -> TenantOut:
    return await _tenant(tenant_id)


@router.patch("/{tenant_id}", responses=responses(404, 422))
async def patch_tenant(tenant_id: str, body: TenantPatch, ctx: Ctx, _: Admin) -> TenantOut:
    """Rename, suspend/reactivate (``status``) or set the tenant's rate limits."""
    await _tenant(tenant_id)
    await ctx.bus.execute(
        UpdateTenant(tenant_id=tenant_id, aggregate_id=tenant_id, **body.model_dump(exclude_unset=True))
    )
    return await _tenant(tenant_id)


@router.post("/{tenant_id}/api-keys", status_code=status.HTTP_201_CREATED, responses=responses(404, 422))
async def issue_key(tenant_id: str, body: ApiKeyCreate, ctx: Ctx, _: Admin) -> ApiKeyCreated:
    """Issue a key for the tenant; the key is in this response only (stored as a hash)."""
    return await _issue(ctx, tenant_id, body)


@router.get("/{tenant_id}/api-keys", responses=responses(404))
async def list_keys(tenant_id: str, _: Admin) -> ApiKeyList:
    return await _keys(tenant_id)


@router.delete("/{tenant_id}/api-keys/{key_id}", responses=responses(404))
async def revoke_key(tenant_id: str, key_id: str, ctx: Ctx, _: Admin) -> ApiKeyOut:
    return await _revoke(ctx, tenant_id, key_id)
