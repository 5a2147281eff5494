"""An edge remembers pages of a tenant's agent list while none of its agents changes
(``phony.epochs.agents_of``), and every edge process stops using them the moment a change is projected."""

from __future__ import annotations

from typing import Any

import httpx

from phony.config import Settings
from phony.projections.documents import mongo_client
from tests.support import TenantHandle, agent_body, unique_number


def auth(tenant: TenantHandle) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.key}"}


async def listed(edge: httpx.AsyncClient, tenant: TenantHandle, query: str = "") -> dict[str, Any]:
    r = await edge.get(f"/agents/{query}", headers=auth(tenant))
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


def ids(page: dict[str, Any]) -> list[str]:
    return [a["id"] for a in page["agents"]]


async def create(tenant: TenantHandle) -> str:
    r = await tenant.client.post("/agents/", json=agent_body(phone_numbers=[unique_number()]))
    assert r.status_code == 201, r.text
    agent_id: str = r.json()["id"]
    return agent_id


async def test_an_agent_created_through_one_edge_is_listed_at_once_by_another(
    tenant: TenantHandle, second_edge: httpx.AsyncClient
) -> None:
    first = await create(tenant)
    assert ids(await listed(second_edge, tenant)) == [first]  # remembered there
    second = await create(tenant)  # through the session's edge
    page = await listed(second_edge, tenant)
    assert (ids(page), page["total"]) == ([first, second], 2)


async def test_a_deactivated_agent_leaves_every_edges_active_list_at_once(
    tenant: TenantHandle, second_edge: httpx.AsyncClient
) -> None:
    agent_id = await create(tenant)
    assert ids(await listed(second_edge, tenant, "?is_active=true")) == [agent_id]
    assert ids(await listed(second_edge, tenant, "?is_active=false")) == []
    r = await tenant.client.patch(f"/agents/{agent_id}", json={"is_active": False})
    assert r.status_code == 200, r.text
    assert ids(await listed(second_edge, tenant, "?is_active=true")) == []
    assert ids(await listed(second_edge, tenant, "?is_active=false")) == [agent_id]


async def test_a_deleted_agent_leaves_every_edges_list_at_once(
    tenant: TenantHandle, second_edge: httpx.AsyncClient
) -> None:
    kept, deleted = await create(tenant), await create(tenant)
    assert ids(await listed(second_edge, tenant)) == [kept, deleted]
    assert (await tenant.client.delete(f"/agents/{deleted}")).status_code == 204
    page = await listed(second_edge, tenant)
    assert (ids(page), page["total"]) == ([kept], 1)


async def test_a_page_is_read_from_the_store_again_only_after_one_of_the_tenants_agents_changes(
    tenant: TenantHandle, other_tenant: TenantHandle, settings: Settings
) -> None:
    agent_id = await create(tenant)
    edge = tenant.client
    assert [a["name"] for a in (await listed(edge, tenant))["agents"]] == ["Customer Service Bot"]

    # A change the projector did not make (so nothing renewed the epoch): the page is not read again.
    async def rename(name: str) -> None:
        client = mongo_client(settings)
        try:
            await client[settings.mongodb_db]["agents"].update_one(
                {"_id": agent_id}, {"$set": {"name": name}}
            )
        finally:
            await client.close()

    await rename("X")
    try:
        assert [a["name"] for a in (await listed(edge, tenant))["agents"]] == ["Customer Service Bot"]
        # Another tenant's agents are theirs alone.
        await create(other_tenant)
        assert [a["name"] for a in (await listed(edge, tenant))["agents"]] == ["Customer Service Bot"]
        # One of the tenant's agents changes: every page of the tenant is read afresh.
        await create(tenant)
        names = [a["name"] for a in (await listed(edge, tenant))["agents"]]
        assert names == ["X", "Customer Service Bot"]
    finally:
        await rename("Customer Service Bot")  # the read models as the log has them (a rebuild test compares)
