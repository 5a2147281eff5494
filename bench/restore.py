"""Restoring a partition: from its snapshot and the events after it, beside folding its whole log.

Builds, in a fresh namespace on the services' Kafka, one partition holding ``--ended`` calls that
ended (13 events each: started, ringing, answered, media, two exchanges, goodbye, ended) and ``--live``
calls in progress (a reply held for approval, a question to the supervisor, LLM commands), plus their
tenant and agent, all written by an ``EventWriter`` owning the partition, as the worker writes them.
Ended calls are then summarized as the call worker does when their actors retire, a snapshot is
written, and ``--tail`` more events follow on the live calls (what a restore finds after the latest
snapshot: fewer than ``PHONY_SNAPSHOT_EVERY``). Then, ``--repeat`` times, interleaved:

- **whole log:** a fresh store folds the partition from offset 0 (what a restore did before snapshots);
- **snapshot:** a fresh ``AggregateStore.restore(p)`` (the snapshot, then the tail).

Both end with the same states (checked). Each restore's memory is measured in a process of its own
(so that one's garbage does not inflate the other's RSS): the store's size by ``tracemalloc`` and the
process's RSS after it. The namespace's topics are deleted at the end. Run with the services up:
    .venv/bin/python bench/restore.py [--ended 10000] [--live 10] [--tail 100] [--repeat 3]
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from phony.config import Settings  # noqa: E402
from phony.events import AggregateType, EventData, new_id  # noqa: E402
from phony.events.log import ensure_topics, read_log  # noqa: E402
from phony.workers.calls.state import CallState, fold_call  # noqa: E402
from phony.workers.calls.worker import ended_summary  # noqa: E402
from phony.workers.snapshot_topic import read_latest  # noqa: E402
from phony.workers.store import AggregateStore  # noqa: E402
from phony.workers.writer import EventWriter  # noqa: E402
from tests.call_history import agent_events, ended_call, ids_on, live_call, tenant_events, turns  # noqa: E402
from tests.support import Servers, drop_namespace  # noqa: E402

P = 0
PARTITIONS = 4
CHUNK = 250  # calls written concurrently: their appends share transactions (the writer's group commit)


def settings_for(prefix: str) -> Settings:
    # No snapshot while building: the first one is written, on purpose, after the history.
    return Settings(topic_prefix=prefix, partitions=PARTITIONS, snapshot_every=1_000_000)


def new_store(settings: Settings) -> AggregateStore:
    store = AggregateStore(settings)
    store.register("call", CallState, fold_call)
    return store


def summarize(store: AggregateStore) -> None:
    """What the call worker keeps of each ended call (``CallWorker.take`` and its actors' retirement)."""
    for sid, state in store.states(P).items():
        if isinstance(state, CallState) and state.ended:
            store.replace(sid, ended_summary(state))


async def whole_log(settings: Settings) -> AggregateStore:
    store = new_store(settings)
    async for logged in read_log(settings, partitions=[P]):
        store.fold(logged.event)
    return store


async def from_snapshot(settings: Settings) -> AggregateStore:
    store = new_store(settings)
    await store.restore(P)
    return store


async def build(settings: Settings, ended: int, live: int, tail: int) -> dict[str, float]:
    """Write the partition's history, its snapshot, and the tail after it."""
    store = new_store(settings)
    writer = EventWriter(settings, store)
    await writer.own(P)
    await store.restore(P)
    tenant = next(ids_on(P, PARTITIONS, "ten_"))
    agent = next(ids_on(P, PARTITIONS, "agent_"))
    sids = ids_on(P, PARTITIONS, "CA")

    async def emit(aggregate_id: str, payloads: list[EventData], kind: AggregateType = "call") -> None:
        state = store.get(kind, aggregate_id)
        await writer.emit(
            state, payloads, aggregate_id=aggregate_id, tenant_id=tenant, command_id=new_id("cmd")
        )

    began = time.perf_counter()
    try:
        await emit(tenant, tenant_events(), "tenant")
        await emit(agent, agent_events(), "agent")
        ended_sids = [next(sids) for _ in range(ended)]
        for i in range(0, ended, CHUNK):
            await asyncio.gather(*(emit(sid, ended_call(sid, agent)) for sid in ended_sids[i : i + CHUNK]))
        live_sids = [next(sids) for _ in range(live)]
        await asyncio.gather(*(emit(sid, live_call(sid, agent)) for sid in live_sids))
        written = time.perf_counter() - began
        summarize(store)
        began = time.perf_counter()
        if not await writer.snapshot(P):
            raise SystemExit("the snapshot was not written")
        snapshot_s = time.perf_counter() - began
        turn, n = 3, 0
        while n < tail:
            await asyncio.gather(*(emit(sid, turns(turn, 1)) for sid in live_sids))
            turn, n = turn + 1, n + 3 * live
    finally:
        await writer.close()
    return {"write_s": written, "snapshot_s": snapshot_s, "tail": n}


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def measure_memory(prefix: str, mode: str) -> None:
    """In a process of its own: one restore, the store's size and the process's RSS after it."""
    settings = settings_for(prefix)
    gc.collect()
    rss_before = rss_kib()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    store = await (whole_log(settings) if mode == "whole" else from_snapshot(settings))
    gc.collect()
    full = tracemalloc.get_traced_memory()[0] - before
    summarize(store)  # what the worker then keeps (already so for a snapshot's ended calls)
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    rss = {"rss_before_kib": rss_before, "rss_kib": rss_kib()}
    print(json.dumps({"restored": full, "kept": kept, **rss, "states": len(store.states(P))}))


def memory_of(prefix: str, mode: str) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, __file__, "--memory", mode, "--prefix", prefix],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    result: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return result


async def run(args: argparse.Namespace) -> None:
    prefix = f"bench-restore-{uuid.uuid4().hex[:8]}"
    settings = settings_for(prefix)
    servers = Servers(settings.kafka_bootstrap, settings.mongodb_url, settings.redis_url)
    await ensure_topics(settings)
    try:
        built = await build(settings, args.ended, args.live, args.tail)
        latest = await read_latest(settings, P)
        events = len([e async for e in read_log(settings, partitions=[P])])
        print(
            f"partition {P}: {args.ended} ended calls, {args.live} live, {events} events "
            f"(written in {built['write_s']:.1f} s); snapshot: {len(latest)} records, "
            f"{sum(len(v) for v, _ in latest.values()) / 1024:.0f} KiB, written in "
            f"{built['snapshot_s'] * 1000:.0f} ms; {built['tail']:.0f} events after it"
        )
        times: dict[str, list[float]] = {"whole": [], "snapshot": []}
        stores: dict[str, AggregateStore] = {}
        for _ in range(args.repeat):
            for mode, restore in (("whole", whole_log), ("snapshot", from_snapshot)):
                stores.pop(mode, None)
                gc.collect()
                began = time.perf_counter()
                stores[mode] = await restore(settings)
                times[mode].append(time.perf_counter() - began)
        for store in stores.values():
            summarize(store)
        same = stores["whole"].states(P) == stores["snapshot"].states(P)
        print(f"same states either way: {same}\n")
        memory = {mode: memory_of(prefix, mode) for mode in ("whole", "snapshot")}
        header = ["restore", f"median of {args.repeat}", "runs", "store restored", "kept (summaries)", "RSS"]
        print("| " + " | ".join(header) + " |")
        print("|---|---|---|---|---|---|")
        for mode, label in (("whole", "whole log"), ("snapshot", "snapshot + tail")):
            runs = ", ".join(f"{t * 1000:.0f}" for t in times[mode])
            m = memory[mode]
            rss = f"{m['rss_before_kib'] / 1024:.0f} → {m['rss_kib'] / 1024:.0f}"
            mib = [f"{m['restored'] / 2**20:.1f}", f"{m['kept'] / 2**20:.1f}", rss]
            sizes = " MiB | ".join(mib) + " MiB"
            print(f"| {label} | {statistics.median(times[mode]) * 1000:.0f} ms | {runs} ms | {sizes} |")
        ratio = statistics.median(times["whole"]) / statistics.median(times["snapshot"])
        print(f"\nwhole log / snapshot: {ratio:.1f}x")
    finally:
        await drop_namespace(servers, prefix)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ended", type=int, default=10_000)
    parser.add_argument("--live", type=int, default=10)
    parser.add_argument("--tail", type=int, default=100, help="events after the snapshot (about)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory", choices=("whole", "snapshot"), help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory:
        asyncio.run(measure_memory(args.prefix, args.memory))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
