"""Errors (SPEC §2): every path answers in the envelope with the documented code."""

from __future__ import annotations

import httpx

from phony.config import Settings
from phony.projections.documents import mongo_client
from tests.support import TenantHandle


def assert_envelope(r: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    error: dict[str, object] = r.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], dict)
    return error


async def test_unknown_route_is_404_in_the_envelope(tenant: TenantHandle) -> None:
    assert_envelope(await tenant.client.get("/nowhere"), 404, "NOT_FOUND")


async def test_wrong_method_is_405_in_the_envelope(tenant: TenantHandle) -> None:
    assert_envelope(await tenant.client.delete("/agents/"), 405, "METHOD_NOT_ALLOWED")


async def test_body_over_the_limit_is_413(tenant: TenantHandle) -> None:
    r = await tenant.client.post("/agents/", json={"name": "big", "system_prompt": "x" * 1_100_000})
    error = assert_envelope(r, 413, "PAYLOAD_TOO_LARGE")
    assert error["details"] == {"limit": 1_048_576}


async def test_malformed_json_is_400(tenant: TenantHandle) -> None:
    r = await tenant.client.post(
        "/agents/", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_envelope(r, 400, "BAD_REQUEST")


async def test_wrong_type_is_422_naming_field_and_value(tenant: TenantHandle) -> None:
    r = await tenant.client.post("/agents/", json={"name": "x", "is_active": "maybe"})
    error = assert_envelope(r, 422, "VALIDATION_ERROR")
    assert error["details"]["field"] == "is_active"  # type: ignore[index]
    assert error["details"]["value"] == "maybe"  # type: ignore[index]


async def test_bad_query_parameter_is_422(tenant: TenantHandle) -> None:
    error = assert_envelope(await tenant.client.get("/agents/?limit=0"), 422, "VALIDATION_ERROR")
    assert error["details"]["field"] == "limit"  # type: ignore[index]


async def test_missing_key_is_401(tenant: TenantHandle) -> None:
    assert_envelope(await tenant.client.get("/agents/", headers={"Authorization": ""}), 401, "UNAUTHORIZED")
    assert_envelope(
        await tenant.client.get("/agents/", headers={"Authorization": "Basic abc"}), 401, "UNAUTHORIZED"
    )


async def test_unexpected_failure_is_500_without_internals(tenant: TenantHandle, settings: Settings) -> None:
    # A read-model document nobody should ever have written makes the route fail unexpectedly.
    client = mongo_client(settings)
    agents = client[settings.mongodb_db]["agents"]
    await agents.insert_one({"_id": "agent_broken", "tenant_id": tenant.id, "deleted": False, "name": 42})
    try:
        r = await tenant.client.get("/agents/agent_broken")
    finally:
        await agents.delete_one({"_id": "agent_broken"})  # the log never had it: leave no trace
        await client.close()
    error = assert_envelope(r, 500, "INTERNAL_ERROR")
    assert error["message"] == "internal error"
    assert "Traceback" not in r.text
    assert "validation" not in r.text.lower()
