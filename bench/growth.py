"""Read and projection cost as the store grows: the same requests with 1,000 and with 100,000
documents in each collection, side by side in one run, as ratios.

Run with the services up (``make bench`` or ``scripts/services.sh up``):
    .venv/bin/python bench/growth.py [--small 1000] [--large 100000] [--requests 200]

It starts its own ``phony serve`` in a fresh namespace, projects one tenant's agent and call through
the product's own projector, then fills the collections with other documents of the same shapes
(agents, calls and stored events of other tenants, written as the projector writes them) and measures:
``GET /agents/{id}``, ``GET /agents/?limit=10``, ``GET /calls/{sid}/events?since=``, and projecting one
event (``phony.projections.projector.apply``). With ``--same-tenant`` the extra agents belong to the
measured tenant itself (its list grows too, which no store can keep flat for the count).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.rest import pct  # noqa: E402
from bench.support import bench_tenant, serve_process, servers_from_env  # noqa: E402
from phony import epochs  # noqa: E402
from phony.config import Settings  # noqa: E402
from phony.events import EventEnvelope, envelope_for, utcnow  # noqa: E402
from phony.events.calls import AiResponse, CallStarted, SpeechDetected  # noqa: E402
from phony.projections.documents import AgentDoc, AgentTally, CallDoc, init_read_models, mongo_client  # noqa: E402
from phony.projections.projector import SeqMemory, apply  # noqa: E402
from phony.projections.stored_events import stored  # noqa: E402
from tests.support import (  # noqa: E402
    agent_body,
    drop_namespace,
)

CALL_EVENTS = 60  # the measured call's length; `since=` asks for its last 10


def call_events(sid: str, tenant_id: str, count: int) -> list[EventEnvelope]:
    """A call's events as a worker writes them: started, then the caller and the AI in turn."""
    start = utcnow()
    payloads: list[Any] = [
        CallStarted.model_validate(
            {
                "callSid": sid,
                "from": "+15551230001",
                "to": "+15559870002",
                "timestamp": start.isoformat(),
                "direction": "inbound",
                "agent_id": None,
            }
        )
    ]
    for i in range(1, count):
        if i % 2:
            payloads.append(SpeechDetected(text=f"caller line {i}", speaker="caller"))
        else:
            payloads.append(
                AiResponse(response_id=f"resp_{i}", text=f"AI line {i}", audio_url=None, model="gpt-realtime")
            )
    return [
        envelope_for(p, aggregate_id=sid, tenant_id=tenant_id, seq=n, timestamp=start + timedelta(seconds=n))
        for n, p in enumerate(payloads, start=1)
    ]


async def timed(n: int, op: Callable[[], Awaitable[None]]) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await op()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def main(small: int, large: int, requests: int, same_tenant: bool) -> None:
    servers = servers_from_env()
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    settings = Settings(
        _env_file=None, mongodb_url=servers.mongodb, mongodb_db=namespace, topic_prefix=namespace
    )
    redis = Redis.from_url(servers.redis)
    log_dir = ROOT / ".services" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    phony = serve_process(servers, namespace)
    phony.start(log_dir)
    mongo = mongo_client(settings)
    database = mongo[namespace]
    memory = SeqMemory()
    results: dict[int, dict[str, list[float]]] = {}
    try:
        await phony.ready()
        await init_read_models(mongo, settings)
        async with httpx.AsyncClient(base_url=phony.url, timeout=60) as http:
            bench = await bench_tenant(http, "growth")
            tenant, auth = {"id": bench.id}, bench.auth
            agent = (await http.post("/agents/", json=agent_body(), headers=auth)).json()
            sid = "CA" + uuid.uuid4().hex
            for event in call_events(sid, tenant["id"], CALL_EVENTS):
                await apply(event, memory)
            template = await database[AgentDoc.Settings.name].find_one({"_id": agent["id"]})
            assert template is not None
            filled = 0
            for size in (small, large):
                await fill(database, template, filled, size, tenant["id"] if same_tenant else None)
                filled = size

                async def get_agent() -> None:
                    r = await http.get(f"/agents/{agent['id']}", headers=auth)
                    assert r.status_code == 200, r.text

                async def list_agents() -> None:
                    # The edge remembers a page until one of the tenant's agents changes: renewing the
                    # epoch (as the projector would) makes each request read the store, the cost measured.
                    await epochs.renew(redis, settings, epochs.agents_of(tenant["id"]))
                    r = await http.get("/agents/?limit=10", headers=auth)
                    assert r.status_code == 200, r.text

                async def events_since() -> None:
                    r = await http.get(f"/calls/{sid}/events?since={CALL_EVENTS - 10}", headers=auth)
                    assert r.status_code == 200, r.text
                    assert len(r.json()["events"]) == 10, r.text

                fresh = [
                    call_events("CA" + uuid.uuid4().hex, tenant["id"], 4) for _ in range(requests // 4 + 1)
                ]
                queue = [e for events in fresh for e in events]

                async def project(queue: list[EventEnvelope] = queue) -> None:
                    await apply(queue.pop(0), memory)

                for op in (get_agent, list_agents, events_since):  # warm
                    await timed(5, op)
                results[size] = {
                    "GET /agents/{id}": await timed(requests, get_agent),
                    "GET /agents/?limit=10": await timed(requests, list_agents),
                    "GET /calls/{sid}/events?since=": await timed(requests, events_since),
                    "project one event": await timed(requests, project),
                }
    finally:
        phony.stop()
        await drop_namespace(servers, namespace)
        await mongo.close()
        await redis.aclose()

    where = "the measured tenant" if same_tenant else "other tenants"
    print(f"store {servers.mongodb}; extra documents belong to {where}; {requests} samples per case")
    print(
        f"{'case':<34}{f'{small:,} p50':>12}{'p99':>10}{f'{large:,} p50':>14}{'p99':>10}"
        f"{'ratio p50':>11}{'p99':>8}"
    )
    for case in results[small]:
        a, b = results[small][case], results[large][case]
        a50, a99, b50, b99 = pct(a, 0.5), pct(a, 0.99), pct(b, 0.5), pct(b, 0.99)
        print(
            f"{case:<34}{a50:>10.2f}ms{a99:>8.2f}ms{b50:>12.2f}ms{b99:>8.2f}ms"
            f"{b50 / a50:>10.2f}x{b99 / a99:>7.2f}x"
        )
    print("(target: every ratio <= 1.5x)")


async def fill(database: Any, template: dict[str, Any], have: int, want: int, tenant_id: str | None) -> None:
    """Grow agents, calls and stored events from ``have`` to ``want`` documents each, in the shapes
    the projector writes, for other tenants (or agents of ``tenant_id``)."""
    batch = 2000
    for start in range(have, want, batch):
        n = min(batch, want - start)
        agents, calls, events = [], [], []
        for i in range(start, start + n):
            owner = tenant_id or f"tenant_other{i % 500}"
            agent = {**template, "_id": f"agent_fill{i}", "tenant_id": owner, "phone_numbers": []}
            if tenant_id:  # the tenant's own: ranked after the template, as the projector ranks them
                agent |= {"rank": 2 + i, "created_at": template["created_at"] + timedelta(milliseconds=1 + i)}
            agents.append(agent)
            sid = f"CAfill{i // 10}"
            if i % 10 == 0:
                calls.append(
                    CallDoc(
                        id=sid,
                        tenant_id=f"tenant_other{i % 500}",
                        direction="inbound",
                        from_number="+15551230001",
                        to_number="+15559870002",
                        status="completed",
                        created_at=utcnow(),
                        last_seq=10,
                    ).model_dump(by_alias=True)
                )
            [event] = call_events(sid, f"tenant_other{i % 500}", 1)
            doc = stored(event.model_copy(update={"seq": i % 10 + 1})).model_dump(by_alias=True)
            events.append(doc)
        await database[AgentDoc.Settings.name].insert_many(agents)
        if tenant_id:
            last = {"created_at": agents[-1]["created_at"], "_id": agents[-1]["_id"]}
            await database[AgentTally.Settings.name].update_one(
                {"_id": tenant_id}, {"$inc": {"ranked": n, "active": n}, "$set": {"last": last}}
            )
        await database[CallDoc.Settings.name].insert_many(calls)
        await database["events"].insert_many(events)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--same-tenant", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.small, args.large, args.requests, args.same_tenant))
