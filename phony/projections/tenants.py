"""Projects tenant and API-key events into ``tenants`` and ``api_keys``."""

from __future__ import annotations

from phony.events import EventEnvelope
from phony.events.tenants import ApiKeyIssued, ApiKeyRevoked, TenantCreated, TenantUpdated
from phony.projections import queries
from phony.projections.documents import ApiKeyDoc, TenantDoc


async def tenant_created(event: EventEnvelope, data: TenantCreated) -> None:
    await TenantDoc(
        id=event.aggregate_id,
        name=data.name,
        status=data.status,
        limits=data.limits.model_dump(),
        created_at=event.timestamp,
        updated_at=event.timestamp,
    ).insert()


async def tenant_updated(event: EventEnvelope, data: TenantUpdated) -> None:
    limits = data.limits.model_dump()
    await TenantDoc.get_pymongo_collection().update_one(
        {"_id": event.aggregate_id},
        {"$set": {"name": data.name, "status": data.status, "limits": limits, "updated_at": event.timestamp}},
    )
    await ApiKeyDoc.get_pymongo_collection().update_many(
        dict(queries.keys_of(event.aggregate_id).filter),
        {"$set": {"tenant_status": data.status, "tenant_limits": limits}},
    )


async def api_key_issued(event: EventEnvelope, data: ApiKeyIssued) -> None:
    tenant = await queries.tenant(event.tenant_id).first()
    await ApiKeyDoc(
        id=data.key_id,
        tenant_id=event.tenant_id,
        name=data.name,
        prefix=data.prefix,
        key_hash=data.key_hash,
        created_at=event.timestamp,
        expires_at=data.expires_at,
        tenant_status=tenant["status"] if tenant else None,
        tenant_limits=tenant.get("limits") if tenant else None,
    ).insert()


async def api_key_revoked(event: EventEnvelope, data: ApiKeyRevoked) -> None:
    await ApiKeyDoc.get_pymongo_collection().update_one(
        {"_id": data.key_id}, {"$set": {"revoked_at": event.timestamp}}
    )
