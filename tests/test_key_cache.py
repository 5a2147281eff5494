"""An edge remembers who an API key is while the auth epoch stays the same (phony.edge.key_cache, on
phony.edge.remembered), and stops the moment a change to the key or its tenant is projected, on every
edge process."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from redis.asyncio import Redis

from phony import epochs
from phony.config import Settings
from phony.edge.key_cache import KeyCache, Known
from phony.edge.remembered import Remembered
from tests.support import TenantHandle, eventually


@pytest.fixture
def own_settings(settings: Settings) -> Settings:
    """An epoch of its own: other tests' key changes do not renew it."""
    return settings.model_copy(update={"topic_prefix": f"keys{uuid.uuid4().hex[:8]}"})


class Lookups:
    """A key store that counts how often it is asked."""

    def __init__(self, expires_at: datetime | None = None) -> None:
        self.count = 0
        self.expires_at = expires_at

    async def __call__(self) -> Known[str]:
        self.count += 1
        return Known(f"principal {self.count}", self.expires_at)


async def test_a_key_is_looked_up_once_while_the_epoch_holds(redis: Redis, own_settings: Settings) -> None:
    keys: KeyCache[str] = KeyCache(redis, own_settings)
    look_up = Lookups()
    assert [await keys.resolve("hash", look_up) for _ in range(5)] == ["principal 1"] * 5
    assert look_up.count == 1


async def test_a_renewed_epoch_makes_every_remembered_key_be_looked_up_again(
    redis: Redis, own_settings: Settings
) -> None:
    keys: KeyCache[str] = KeyCache(redis, own_settings)
    look_up = Lookups()
    await keys.resolve("a", look_up)
    await keys.resolve("b", look_up)
    await epochs.renew(redis, own_settings, epochs.AUTH)
    assert await keys.resolve("a", look_up) == "principal 3"
    assert await keys.resolve("b", look_up) == "principal 4"
    assert await keys.resolve("a", look_up) == "principal 3"


async def test_an_epoch_redis_lost_matches_nothing_remembered(redis: Redis, own_settings: Settings) -> None:
    keys: KeyCache[str] = KeyCache(redis, own_settings)
    look_up = Lookups()
    await keys.resolve("a", look_up)
    await redis.delete(epochs.epoch_key(own_settings, epochs.AUTH))
    assert await keys.resolve("a", look_up) == "principal 2"


async def test_a_refused_key_is_not_remembered(redis: Redis, own_settings: Settings) -> None:
    keys: KeyCache[str] = KeyCache(redis, own_settings)
    attempts = 0

    async def refused() -> Known[str]:
        nonlocal attempts
        attempts += 1
        raise PermissionError("invalid API key")

    for _ in range(2):
        with pytest.raises(PermissionError):
            await keys.resolve("a", refused)
    assert attempts == 2


async def test_an_expired_key_is_looked_up_again(redis: Redis, own_settings: Settings) -> None:
    keys: KeyCache[str] = KeyCache(redis, own_settings)
    look_up = Lookups(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    await keys.resolve("a", look_up)
    await keys.resolve("a", look_up)
    assert look_up.count == 2


class HeldLookUp:
    """A look-up that waits at a gate, counting how often it is asked (``fails``: it then raises)."""

    def __init__(self, fails: bool = False) -> None:
        self.calls = 0
        self.gate = asyncio.Event()
        self.fails = fails

    async def __call__(self) -> str:
        self.calls += 1
        await self.gate.wait()
        if self.fails:
            raise ConnectionError("store went away")
        return f"page {self.calls}"

    async def asked(self, times: int) -> None:
        await eventually(lambda: asyncio.sleep(0, self.calls), lambda n: n == times)


async def test_requests_missing_the_same_answer_share_one_look_up(
    redis: Redis, own_settings: Settings
) -> None:
    pages: Remembered[str] = Remembered(redis, own_settings, capacity=10)
    look_up = HeldLookUp()
    waiting = [asyncio.create_task(pages.resolve("p", "pages", look_up)) for _ in range(10)]
    await look_up.asked(1)
    look_up.gate.set()
    assert await asyncio.gather(*waiting) == ["page 1"] * 10
    assert look_up.calls == 1


async def test_a_shared_look_up_that_fails_fails_its_waiters_and_is_not_remembered(
    redis: Redis, own_settings: Settings
) -> None:
    pages: Remembered[str] = Remembered(redis, own_settings, capacity=10)
    look_up = HeldLookUp(fails=True)
    waiting = [asyncio.create_task(pages.resolve("p", "pages", look_up)) for _ in range(3)]
    await look_up.asked(1)
    look_up.gate.set()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert [type(o) for o in outcomes] == [ConnectionError] * 3
    with pytest.raises(ConnectionError):
        await pages.resolve("p", "pages", look_up)
    assert look_up.calls == 2


async def test_without_redis_every_request_looks_its_key_up(own_settings: Settings) -> None:
    gone = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    keys: KeyCache[str] = KeyCache(gone, own_settings)
    look_up = Lookups()
    await keys.resolve("a", look_up)
    await keys.resolve("a", look_up)
    assert look_up.count == 2
    await gone.aclose()


async def test_a_key_revoked_through_one_edge_is_refused_at_once_by_another(
    admin: httpx.AsyncClient, tenant: TenantHandle, second_edge: httpx.AsyncClient
) -> None:
    auth = {"Authorization": f"Bearer {tenant.key}"}
    assert (await second_edge.get("/agents/", headers=auth)).status_code == 200  # remembered there
    assert (await admin.delete(f"/tenants/{tenant.id}/api-keys/{tenant.key_id}")).status_code == 200
    refused = await second_edge.get("/agents/", headers=auth)
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "API key revoked"


async def test_a_tenant_suspended_through_one_edge_is_refused_at_once_by_another(
    admin: httpx.AsyncClient, tenant: TenantHandle, second_edge: httpx.AsyncClient
) -> None:
    auth = {"Authorization": f"Bearer {tenant.key}"}
    assert (await second_edge.get("/agents/", headers=auth)).status_code == 200
    await admin.patch(f"/tenants/{tenant.id}", json={"status": "suspended"})
    assert (await second_edge.get("/agents/", headers=auth)).status_code == 403
    await admin.patch(f"/tenants/{tenant.id}", json={"status": "active"})
    assert (await second_edge.get("/agents/", headers=auth)).status_code == 200
