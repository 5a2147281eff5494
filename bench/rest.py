"""REST latency: create-agent (with read-your-writes) and list-agents through Phony, beside a baseline
that writes / reads the same documents straight to MongoDB, at 1 and 32 concurrent clients, in one run.

The measured requests go through aiohttp (its C parser, one keep-alive pool): httpx costs ~1 ms of
client CPU a request, and at 32 clients it alone held a bare FastAPI route to ~500 requests a second.
The ``floor`` row is that: a FastAPI route answering a fixed page of ten agents, in its own uvicorn,
with the same client, so the machine's own ceiling for any Python HTTP service stands beside Phony.

Run with the services up (``make bench`` or ``scripts/services.sh up``):
    .venv/bin/python bench/rest.py [--requests 400]

It starts its own ``phony serve`` on the services in a fresh namespace and prints p50/p99 per case
and the ratio Phony / baseline (side by side, so machine noise hits both alike).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import FloorProcess, bench_tenant, serve_process, servers_from_env  # noqa: E402
from phony.config import Settings  # noqa: E402
from phony.projections import queries  # noqa: E402
from phony.projections.documents import mongo_client  # noqa: E402
from tests.support import (  # noqa: E402
    agent_body,
    drop_namespace,
    phony_env,
    unique_number,
)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Latencies(list[float]):
    """Latencies in ms, and how many operations a second they came at."""

    rate: float = 0.0


async def run_clients(clients: int, total: int, op: Callable[[], Awaitable[None]]) -> Latencies:
    """``total`` operations spread over ``clients`` concurrent loops."""
    latencies = Latencies()
    per_client = max(1, total // clients)

    async def loop() -> None:
        for _ in range(per_client):
            start = time.perf_counter()
            await op()
            latencies.append((time.perf_counter() - start) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    latencies.rate = len(latencies) / (time.perf_counter() - began)
    return latencies


async def main(requests: int) -> None:
    servers = servers_from_env()
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    log_dir = ROOT / ".services" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    phony = serve_process(servers, namespace)
    phony.start(log_dir)
    floor = FloorProcess()
    mongo = mongo_client(Settings(_env_file=None, mongodb_url=servers.mongodb))
    baseline_db = mongo[f"{namespace}_baseline"]["agents"]
    phony_db = mongo[phony_env(servers, namespace)["PHONY_MONGODB_DB"]]
    try:
        await phony.ready()
        async with httpx.AsyncClient(base_url=phony.url, timeout=30) as setup:
            bench = await bench_tenant(setup, "bench")
        tenant, auth = {"id": bench.id}, bench.auth
        async with (
            aiohttp.ClientSession(phony.url, connector=aiohttp.TCPConnector(limit=64)) as http,
            aiohttp.ClientSession(floor.url, connector=aiohttp.TCPConnector(limit=64)) as bare,
        ):

            async def create() -> None:
                body = agent_body(phone_numbers=[unique_number()])
                async with http.post("/agents/", json=body, headers=auth) as r:
                    assert r.status == 201, await r.text()
                    await r.read()

            async def listing() -> None:
                async with http.get("/agents/?limit=10&offset=0&is_active=true", headers=auth) as r:
                    assert r.status == 200, await r.text()
                    await r.read()

            async def floor_list() -> None:
                async with bare.get("/agents/") as r:
                    assert r.status == 200
                    await r.read()

            async def baseline_create() -> None:
                now = time.time()
                doc: dict[str, Any] = {
                    "_id": f"agent_{uuid.uuid4().hex}",
                    "tenant_id": tenant["id"],
                    **agent_body(phone_numbers=[unique_number()]),
                    "created_at": now,
                    "updated_at": now,
                    "deleted": False,
                }
                await baseline_db.insert_one(doc)

            async def baseline_list() -> None:
                # Phony's own documents, read with its query shapes straight from the store.
                agents = await queries.agent_list(tenant["id"], True, phony_db)
                await agents.page(0, 10, phony_db)

            # Warm both paths (connections, JIT-free Python caches, Kafka metadata, the edge's
            # remembered page: the list rows measure a list nobody changes meanwhile).
            await run_clients(4, 40, create)
            await run_clients(4, 40, baseline_create)
            await run_clients(4, 40, listing)
            await run_clients(4, 40, baseline_list)
            await floor.ready(floor_list)

            rows: list[tuple[str, int, Latencies, Latencies]] = []
            floors: list[tuple[int, Latencies]] = []
            for clients in (1, 32):
                n = requests if clients == 1 else requests * 2
                rows.append(
                    (
                        "create-agent",
                        clients,
                        await run_clients(clients, n, create),
                        await run_clients(clients, n, baseline_create),
                    )
                )
                await listing()  # the creates above changed the page: read it once again
                rows.append(
                    (
                        "list-agents",
                        clients,
                        await run_clients(clients, n, listing),
                        await run_clients(clients, n, baseline_list),
                    )
                )
                floors.append((clients, await run_clients(clients, n, floor_list)))
    finally:
        floor.stop()
        phony.stop()
        await drop_namespace(servers, namespace)
        await mongo.drop_database(f"{namespace}_baseline")
        await mongo.close()

    print(
        f"{'case':<14}{'clients':>8}{'phony p50':>11}{'p99':>9}{'req/s':>8}{'mongo p50':>11}{'p99':>9}"
        f"{'req/s':>8}{'ratio p50':>11}{'p99':>8}{'n':>6}"
    )
    for name, clients, ours, base in rows:
        p50, p99, b50, b99 = pct(ours, 0.5), pct(ours, 0.99), pct(base, 0.5), pct(base, 0.99)
        print(
            f"{name:<14}{clients:>8}{p50:>9.1f}ms{p99:>7.1f}ms{ours.rate:>8.0f}{b50:>9.1f}ms{b99:>7.1f}ms"
            f"{base.rate:>8.0f}{p50 / b50:>10.1f}x{p99 / b99:>7.1f}x{len(ours):>6}"
        )
    for clients, bare_list in floors:
        print(
            f"{'floor-list':<14}{clients:>8}{pct(bare_list, 0.5):>9.1f}ms{pct(bare_list, 0.99):>7.1f}ms"
            f"{bare_list.rate:>8.0f}   (a bare FastAPI route, fixed page, same client)"
        )
    print(
        f"(mean create at 32 clients: {statistics.mean(rows[2][2]):.1f} ms; "
        "targets: create p99 <= 50 ms, list p99 <= 15 ms at 32 clients; 32 clients that each wait for "
        "their answer reach a mean of M ms only at 32,000/M requests a second)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300, help="requests per case at 1 client (x2 at 32)")
    asyncio.run(main(parser.parse_args().requests))
