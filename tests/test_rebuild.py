"""Read models are disposable: ``phony rebuild`` recreates exactly the same documents from the log."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import uuid
from typing import Any

import httpx

from phony.config import Settings
from phony.projections.documents import READ_MODELS, mongo_client
from tests.support import ROOT, TenantHandle, agent_body, unique_number


async def random_workload(admin: httpx.AsyncClient, tenant: TenantHandle, rng: random.Random) -> None:
    agents: list[str] = []
    for _ in range(25):
        action = rng.choice(["create", "create", "patch", "put", "delete", "key", "revoke", "tenant"])
        if action == "create" or not agents:
            body = agent_body(name=f"a{rng.randrange(1000)}", phone_numbers=[unique_number()])
            agents.append((await tenant.client.post("/agents/", json=body)).json()["id"])
        elif action == "patch":
            patch = rng.choice(
                [{"is_active": rng.random() < 0.5}, {"temperature": rng.randrange(0, 20) / 10}]
            )
            await tenant.client.patch(f"/agents/{rng.choice(agents)}", json=patch)
        elif action == "put":
            await tenant.client.put(f"/agents/{rng.choice(agents)}", json={"name": "replaced"})
        elif action == "delete":
            await tenant.client.delete(f"/agents/{agents.pop(rng.randrange(len(agents)))}")
        elif action == "key":
            await admin.post(f"/tenants/{tenant.id}/api-keys", json={"name": f"k{rng.randrange(99)}"})
        elif action == "revoke":
            keys = (await admin.get(f"/tenants/{tenant.id}/api-keys")).json()["api_keys"]
            spare = [k["id"] for k in keys if k["id"] != tenant.key_id and k["active"]]
            if spare:
                await admin.delete(f"/tenants/{tenant.id}/api-keys/{rng.choice(spare)}")
        else:
            await admin.patch(
                f"/tenants/{tenant.id}", json={"limits": {"agents_per_minute": rng.randrange(200, 900)}}
            )


async def snapshot(settings: Settings, database: str) -> dict[str, list[dict[str, Any]]]:
    client = mongo_client(settings)
    try:
        db = client[database]
        return {
            m.Settings.name: await db[m.Settings.name].find({}).sort("_id", 1).to_list(None)
            for m in READ_MODELS
        }
    finally:
        await client.close()


async def test_rebuild_from_the_log_gives_identical_read_models(
    admin: httpx.AsyncClient, tenant: TenantHandle, settings: Settings
) -> None:
    await random_workload(admin, tenant, random.Random(20261125))
    before = await snapshot(settings, settings.mongodb_db)
    target = f"rebuild_{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PHONY_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "PHONY_MONGODB_URL": settings.mongodb_url,
        "PHONY_TOPIC_PREFIX": settings.topic_prefix,
        "PHONY_PARTITIONS": str(settings.partitions),
        "PHONY_MONGODB_DB": target,
    }
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "phony.cli", "rebuild", env=env, cwd=ROOT, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await done.communicate()
    assert done.returncode == 0, stderr.decode()
    after = await snapshot(settings, target)
    assert {k: len(v) for k, v in after.items()} == {k: len(v) for k, v in before.items()}
    assert after == before
    assert len(before["agents"]) > 0
