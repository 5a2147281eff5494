"""Tenants and API keys (SPEC §1): operator endpoints, keys shown once and stored hashed, revocation
and expiry take effect at once, tenants manage their own keys."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from redis.asyncio import Redis

from phony import epochs
from phony.config import Settings
from phony.events.log import read_log
from phony.projections.documents import mongo_client
from tests.support import TenantHandle, eventually


async def renew_auth_epoch(settings: Settings) -> None:
    redis = Redis.from_url(settings.redis_url)
    try:
        await epochs.renew(redis, settings, epochs.AUTH)
    finally:
        await redis.aclose()


async def test_operator_creates_gets_and_lists_tenants(admin: httpx.AsyncClient) -> None:
    created = await admin.post("/tenants/", json={"name": "Initech"})
    assert created.status_code == 201
    tenant = created.json()
    assert tenant["id"].startswith("tenant_")
    assert tenant["status"] == "active"
    assert (await admin.get(f"/tenants/{tenant['id']}")).json() == tenant
    total = (await admin.get("/tenants/", params={"limit": 1})).json()["total"]
    # Oldest first: the newest tenant is on the last page, however many the session made before it.
    listed = (await admin.get("/tenants/", params={"limit": 100, "offset": max(0, total - 100)})).json()
    assert tenant["id"] in {t["id"] for t in listed["tenants"]}
    assert listed["total"] == total


async def test_tenant_endpoints_refuse_anything_but_the_operator_key(
    admin: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    assert (await tenant.client.get("/tenants/")).status_code == 401
    assert (await tenant.client.post("/tenants/", json={"name": "x"})).status_code == 401
    anonymous = await admin.get("/tenants/", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "UNAUTHORIZED"


async def test_unknown_tenant_is_not_found(admin: httpx.AsyncClient) -> None:
    r = await admin.get("/tenants/tenant_nope")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"


async def test_api_key_is_shown_once_and_only_its_hash_is_stored(
    admin: httpx.AsyncClient, tenant: TenantHandle, settings: Settings
) -> None:
    assert tenant.key.startswith("pk_live_")
    listed = (await admin.get(f"/tenants/{tenant.id}/api-keys")).json()["api_keys"]
    assert [k["prefix"] for k in listed] == [tenant.key[:12]]
    assert "key" not in listed[0]
    client = mongo_client(settings)
    try:
        doc = await client[settings.mongodb_db]["api_keys"].find_one({"_id": tenant.key_id})
    finally:
        await client.close()
    assert doc is not None
    assert doc["key_hash"] == hashlib.sha256(tenant.key.encode()).hexdigest()
    assert tenant.key not in str(doc)
    logged = [e.event async for e in read_log(settings, aggregate_id=tenant.id)]
    assert all(tenant.key not in e.model_dump_json() for e in logged)


async def test_revoked_key_is_refused_at_once(admin: httpx.AsyncClient, tenant: TenantHandle) -> None:
    assert (await tenant.client.get("/agents/")).status_code == 200
    r = await admin.delete(f"/tenants/{tenant.id}/api-keys/{tenant.key_id}")
    assert r.status_code == 200
    assert r.json()["active"] is False
    refused = await tenant.client.get("/agents/")
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "API key revoked"


async def test_expired_key_is_refused(admin: httpx.AsyncClient, tenant: TenantHandle) -> None:
    short = await admin.post(f"/tenants/{tenant.id}/api-keys", json={"expires_in_seconds": 1})
    assert short.status_code == 201
    headers = {"Authorization": f"Bearer {short.json()['key']}"}

    async def status() -> int:
        return (await tenant.client.get("/agents/", headers=headers)).status_code

    assert await status() == 200
    await eventually(status, lambda s: s == 401, within=5)


async def test_unknown_key_is_unauthorized(tenant: TenantHandle) -> None:
    r = await tenant.client.get("/agents/", headers={"Authorization": "Bearer pk_live_notakey"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "UNAUTHORIZED"


async def test_suspended_tenant_is_forbidden_until_reactivated(
    admin: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    assert (await admin.patch(f"/tenants/{tenant.id}", json={"status": "suspended"})).json()[
        "status"
    ] == "suspended"
    assert (await tenant.client.get("/agents/")).status_code == 403
    await admin.patch(f"/tenants/{tenant.id}", json={"status": "active"})
    assert (await tenant.client.get("/agents/")).status_code == 200


async def test_a_key_issued_while_its_tenant_is_suspended_follows_the_tenant(
    admin: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    await admin.patch(f"/tenants/{tenant.id}", json={"status": "suspended"})
    issued = await admin.post(f"/tenants/{tenant.id}/api-keys", json={"name": "late"})
    assert issued.status_code == 201
    headers = {"Authorization": f"Bearer {issued.json()['key']}"}
    assert (await tenant.client.get("/agents/", headers=headers)).status_code == 403
    await admin.patch(f"/tenants/{tenant.id}", json={"status": "active"})
    assert (await tenant.client.get("/agents/", headers=headers)).status_code == 200


async def test_a_key_stored_without_its_tenants_status_asks_the_tenant(
    tenant: TenantHandle, settings: Settings
) -> None:
    """Keys projected before they carried their tenant's status and limits still authenticate, by
    the tenant's own document, until the read models are rebuilt."""
    client = mongo_client(settings)
    keys, tenants = client[settings.mongodb_db]["api_keys"], client[settings.mongodb_db]["tenants"]
    key, own = await keys.find_one({"_id": tenant.key_id}), await tenants.find_one({"_id": tenant.id})
    assert key is not None
    assert own is not None
    try:
        await keys.update_one({"_id": tenant.key_id}, {"$unset": {"tenant_status": "", "tenant_limits": ""}})
        assert (await tenant.client.get("/agents/")).status_code == 200
        await tenants.update_one({"_id": tenant.id}, {"$set": {"status": "suspended"}})
        await renew_auth_epoch(settings)  # as the projector does after a change of a tenant
        refused = await tenant.client.get("/agents/")
    finally:  # as projected again, so the read models still match the log
        await keys.replace_one({"_id": tenant.key_id}, key)
        await tenants.replace_one({"_id": tenant.id}, own)
        await client.close()
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "tenant suspended"


async def test_tenant_manages_its_own_keys(tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    me = (await tenant.client.get("/tenants/me")).json()
    assert me["id"] == tenant.id
    second = await tenant.client.post("/tenants/me/api-keys", json={"name": "ci"})
    assert second.status_code == 201
    keys = (await tenant.client.get("/tenants/me/api-keys")).json()["api_keys"]
    assert {k["name"] for k in keys} == {"tests", "ci"}
    # Another tenant cannot revoke it.
    stolen = await other_tenant.client.delete(f"/tenants/me/api-keys/{second.json()['id']}")
    assert stolen.status_code == 404
    assert (await tenant.client.delete(f"/tenants/me/api-keys/{second.json()['id']}")).status_code == 200
    gone = await tenant.client.get("/agents/", headers={"Authorization": f"Bearer {second.json()['key']}"})
    assert gone.status_code == 401


@pytest.mark.parametrize(
    "body", [{"name": ""}, {"name": 5}, {"nam": "typo"}, {"name": "x", "limits": {"agents_per_minute": 0}}]
)
async def test_bad_tenant_bodies_are_422(admin: httpx.AsyncClient, body: dict[str, object]) -> None:
    r = await admin.post("/tenants/", json=body)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "field" in r.json()["error"]["details"]
