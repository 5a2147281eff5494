"""Agents (SPEC §3): CRUD with every field, E.164 numbers unique across tenants, tenant isolation."""

from __future__ import annotations

from phony.config import Settings
from phony.events.log import read_log
from tests.support import TenantHandle, agent_body, unique_number


async def test_create_agent_returns_the_seed_fields_with_ids_and_timestamps(tenant: TenantHandle) -> None:
    number = unique_number()
    r = await tenant.client.post("/agents/", json=agent_body(phone_numbers=[number]))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"].startswith("agent_")
    assert body["tenant_id"] == tenant.id
    assert body["name"] == "Customer Service Bot"
    assert body["model"] == "gpt-4o-realtime-preview"
    assert body["phone_numbers"] == [number]
    assert body["is_active"] is True
    assert body["created_at"] == body["updated_at"]
    assert body["created_at"].endswith("Z")


async def test_create_agent_keeps_every_spec_field(tenant: TenantHandle) -> None:
    spec = agent_body(
        temperature=0.4,
        max_tokens=150,
        supported_languages=["en", "es"],
        language_detection=True,
        transfer_allowlist=["+1555", "+15557654321"],
        require_approval=True,
        voice="echo",
    )
    created = (await tenant.client.post("/agents/", json=spec)).json()
    fetched = (await tenant.client.get(f"/agents/{created['id']}")).json()
    for field, value in spec.items():
        assert fetched[field] == value, field


async def test_list_agents_paginates_and_filters_by_is_active(tenant: TenantHandle) -> None:
    for i in range(3):
        await tenant.client.post("/agents/", json=agent_body(name=f"a{i}", is_active=i != 1))
    page = (await tenant.client.get("/agents/", params={"limit": 2, "offset": 0})).json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert [a["name"] for a in page["agents"]] == ["a0", "a1"]
    rest = (await tenant.client.get("/agents/", params={"limit": 2, "offset": 2})).json()
    assert [a["name"] for a in rest["agents"]] == ["a2"]
    active = (await tenant.client.get("/agents/?limit=10&offset=0&is_active=true")).json()
    assert {a["name"] for a in active["agents"]} == {"a0", "a2"}
    assert active["total"] == 2


async def test_patch_changes_only_the_fields_sent(tenant: TenantHandle) -> None:
    agent = (await tenant.client.post("/agents/", json=agent_body(temperature=0.5))).json()
    r = await tenant.client.patch(f"/agents/{agent['id']}", json={"name": "Renamed"})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Renamed"
    assert r.json()["temperature"] == 0.5
    assert r.json()["updated_at"] > agent["updated_at"]


async def test_put_replaces_the_agent_with_defaults_for_omitted_fields(tenant: TenantHandle) -> None:
    agent = (await tenant.client.post("/agents/", json=agent_body(temperature=0.5, voice="echo"))).json()
    r = await tenant.client.put(f"/agents/{agent['id']}", json={"name": "Fresh"})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["voice"], r.json()["temperature"]) == ("Fresh", "alloy", 0.8)


async def test_deleted_agent_is_gone(tenant: TenantHandle) -> None:
    agent = (await tenant.client.post("/agents/", json=agent_body())).json()
    assert (await tenant.client.delete(f"/agents/{agent['id']}")).status_code == 204
    assert (await tenant.client.get(f"/agents/{agent['id']}")).status_code == 404
    assert (await tenant.client.get("/agents/")).json()["total"] == 0


async def test_invalid_phone_number_is_refused_in_the_seed_error_format(tenant: TenantHandle) -> None:
    r = await tenant.client.post("/agents/", json=agent_body(phone_numbers=["invalid-number"]))
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["message"] == "Invalid phone number format"
    assert error["details"]["field"] == "phone_numbers"
    assert error["details"]["value"] == "invalid-number"


async def test_phone_number_belongs_to_one_active_agent_across_tenants(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    number = unique_number()
    assert (await tenant.client.post("/agents/", json=agent_body(phone_numbers=[number]))).status_code == 201
    r = await other_tenant.client.post("/agents/", json=agent_body(phone_numbers=[number]))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "CONFLICT"
    assert r.json()["error"]["details"] == {"field": "phone_numbers", "value": number}


async def test_number_is_free_again_after_deactivation_or_delete(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    number = unique_number()
    first = (await tenant.client.post("/agents/", json=agent_body(phone_numbers=[number]))).json()
    await tenant.client.patch(f"/agents/{first['id']}", json={"is_active": False})
    second = await other_tenant.client.post("/agents/", json=agent_body(phone_numbers=[number]))
    assert second.status_code == 201
    # Reactivating the first would take the number twice.
    again = await tenant.client.patch(f"/agents/{first['id']}", json={"is_active": True})
    assert again.status_code == 409
    await other_tenant.client.delete(f"/agents/{second.json()['id']}")
    again = await tenant.client.patch(f"/agents/{first['id']}", json={"is_active": True})
    assert again.status_code == 200


async def test_another_tenants_agent_is_not_found(tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    agent = (await tenant.client.post("/agents/", json=agent_body())).json()
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        body = {"name": "stolen"} if method in ("PATCH", "PUT") else None
        r = await other_tenant.client.request(method, f"/agents/{agent['id']}", json=body)
        assert r.status_code == 404, method
        assert r.json()["error"]["code"] == "NOT_FOUND"
    assert (await tenant.client.get(f"/agents/{agent['id']}")).json()["name"] == agent["name"]


async def test_agent_changes_are_events_on_the_log(tenant: TenantHandle, settings: Settings) -> None:
    agent = (await tenant.client.post("/agents/", json=agent_body())).json()
    await tenant.client.patch(f"/agents/{agent['id']}", json={"voice": "sage"})
    await tenant.client.delete(f"/agents/{agent['id']}")
    events = [e.event async for e in read_log(settings, aggregate_id=agent["id"])]
    assert [(e.type, e.seq) for e in events] == [
        ("agent.created", 1),
        ("agent.updated", 2),
        ("agent.deleted", 3),
    ]
    assert events[1].data["changed"] == ["voice"]
    assert all(e.agent_id == agent["id"] and e.tenant_id == tenant.id for e in events)


async def test_unknown_voice_and_out_of_range_temperature_are_422(tenant: TenantHandle) -> None:
    for bad in (
        {"voice": "robot"},
        {"temperature": 3},
        {"max_tokens": 0},
        {"supported_languages": ["english"]},
    ):
        r = await tenant.client.post("/agents/", json=agent_body(**bad))
        assert r.status_code == 422, bad
        assert r.json()["error"]["details"]["field"] == next(iter(bad))
