"""The read-model store, chosen by measurement: one workload on each MongoDB-API candidate, side by
side in one run, with each case's p50/p99 as a ratio to the best candidate.

    .venv/bin/python bench/store.py [--docs 10000] [--clients 32] [--growth] [--only a,b]

Candidates (bench/store_candidates.sh installs each under .services/candidates/<name>/ and starts it
on its own 127.0.0.1 port; this script stops every one it started, by PID):
    ferretdb-sqlite  FerretDB 1.24 on SQLite (the binary scripts/services.sh builds)
    ferretdb-pg      FerretDB 1.24 on Debian's PostgreSQL 15
    secantus-py      SecantusDB 0.7.0b3 Python server (PyPI, GPL-2.0, in its own venv)
    mongo-java       mongo-java-server (Maven Central, H2 backend)
    secantus-rs      SecantusDB Rust server: only if one is built (PHONY_BENCH_SECANTUS_RS or PATH)

The workload: agent-like documents, an index on (tenant_id 1, created_at -1), then find by _id, a
filtered page sorted by created_at (limit 10) plus the count of that filter, the same at N clients,
``$set`` by _id at N clients (refused writes counted), the server's CPU per page + count, the insert
time, and with --growth the same reads at 1,000 vs 100,000 documents (the growth spread over other
tenants, and the queried tenant itself growing). Each index-served query is also explained.

The workload runs as a subprocess (``bench/store.py --worker SPEC``) under the candidate's client
interpreter: mongo-java-server reports wire version 8, which pymongo >= 4.14 refuses, so its client
is a venv with ``pymongo<4.14``. The worker needs only the standard library and pymongo.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HELPER = ROOT / "bench" / "store_candidates.sh"
TENANTS = 10
INSERT_BATCH = 500


@dataclass(frozen=True)
class Candidate:
    name: str
    label: str
    port: int


CANDIDATES = [
    Candidate("ferretdb-sqlite", "FerretDB 1.24 SQLite", 27111),
    Candidate("ferretdb-pg", "FerretDB 1.24 PG 15", 27112),
    Candidate("secantus-py", "SecantusDB py 0.7.0b3", 27113),
    Candidate("mongo-java", "mongo-java-server H2", 27114),
    Candidate("secantus-rs", "SecantusDB rust", 27115),
]


# ====================================================================== worker (runs per candidate)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def doc_id(coll: str, i: int) -> str:
    return "agent_" + hashlib.md5(f"{coll}:{i}".encode()).hexdigest()[:24]


PROMPT = (
    "You are the phone agent of a dental clinic. Greet the caller, find out whether they want to book, "
    "move or cancel an appointment, confirm the date and time back to them, and never give medical "
    "advice; transfer to a human when asked."
)[:200]


def make_doc(coll: str, i: int, tenant: str, base: dt.datetime) -> dict[str, Any]:
    return {
        "_id": doc_id(coll, i),
        "tenant_id": tenant,
        "created_at": base + dt.timedelta(milliseconds=i),
        "name": f"agent {i}",
        "system_prompt": PROMPT,
        "phone_numbers": [f"+1555{i:07d}"],
        "is_active": True,
    }


def proc_cpu_seconds(pids: list[int]) -> float:
    """utime+stime (and reaped children's) of ``pids`` and all their live descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        # after "pid (comm) ": state ppid ... utime(14) stime(15) cutime(16) cstime(17), 1-based overall
        stats[int(entry)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / tick)
    wanted = set(pids)
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _) in stats.items():
            if ppid in wanted and pid not in wanted:
                wanted.add(pid)
                grew = True
    return sum(stats[p][1] for p in wanted if p in stats)


@dataclass
class Measured:
    latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": len(self.latencies), "failed": sum(self.failures.values())}
        if self.latencies:
            out["p50"] = pct(self.latencies, 0.5)
            out["p99"] = pct(self.latencies, 0.99)
        if self.failures:
            out["errors"] = dict(self.failures.most_common(3))
        return out


async def run_clients(
    clients: int, total: int, seconds: float, op: Callable[[int], Awaitable[bool]]
) -> Measured:
    """``total`` operations over ``clients`` concurrent loops, stopping early after ``seconds`` (each
    loop still does at least one). ``op`` returns False (or raises) for a refused/failed operation."""
    result = Measured()
    issued = 0
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal issued
        first = True
        while issued < total and (first or time.perf_counter() < deadline):
            first = False
            k = issued
            issued += 1
            start = time.perf_counter()
            try:
                ok = await op(k)
            except Exception as e:  # a refused or failed operation is a result, not a crash
                ok = False
                # FerretDB prefixes its errors with Go stack frames ([file.go:N func]): keep the message
                text = re.sub(r"\[[^\]]*\.go:\d+[^\]]*\]\s*", "", str(e)).split(", full error")[0]
                result.failures[f"{type(e).__name__}: {text[:160]}"] += 1
            else:
                if not ok:
                    result.failures["acknowledged but matched nothing"] += 1
            if ok:
                result.latencies.append((time.perf_counter() - start) * 1000)

    await asyncio.gather(*(loop() for _ in range(clients)))
    return result


def plan_verdict(explained: dict[str, Any], sorted_query: bool) -> str:
    """'index' when the plan is served by an index with no blocking sort, else what it does."""
    stages: list[str] = []

    def walk(node: Any, in_plan: bool) -> None:
        if isinstance(node, dict):
            if in_plan and isinstance(node.get("stage"), str):
                stages.append(node["stage"])
            for key, value in node.items():
                walk(value, in_plan or key in ("winningPlan", "queryPlan"))
        elif isinstance(node, list):
            for value in node:
                walk(value, in_plan)

    walk(explained, False)
    if stages:
        indexed = any(
            s in ("IXSCAN", "IDHACK", "COUNT_SCAN", "DISTINCT_SCAN", "EXPRESS_IXSCAN", "CLUSTERED_IXSCAN")
            or s.startswith("EXPRESS_")
            for s in stages
        )
        scan = "COLLSCAN" in stages
        sort = "SORT" in stages
        tag = "index" if indexed and not scan and not sort else "NO"
        return f"{tag}: {'>'.join(dict.fromkeys(stages))}"
    plan = explained.get("queryPlanner", {}).get("Plan") if isinstance(explained, dict) else None
    if plan is not None:  # FerretDB: the backend's own plan (SQLite EXPLAIN QUERY PLAN / PostgreSQL)
        text = " | ".join(str(p) for p in plan) if isinstance(plan, list) else json.dumps(plan)
        indexed = bool(
            re.search(r"USING (COVERING )?INDEX|INTEGER PRIMARY KEY|Index (Only )?Scan|Bitmap Index", text)
        )
        scan = bool(re.search(r"detail=SCAN |Seq Scan", text))
        sort = bool(re.search(r"TEMP B-TREE|\"Sort\"|Node Type\W+Sort\b", text)) or (
            sorted_query and not explained.get("sortPushdown", False)
        )
        what = []
        if scan:
            what.append("full scan")
        if indexed:
            what.append("index")
        if sort:
            what.append("sort in FerretDB" if not explained.get("sortPushdown") else "sort")
        push = ",".join(
            k.replace("Pushdown", "")
            for k in ("filterPushdown", "sortPushdown", "limitPushdown")
            if explained.get(k)
        )
        tag = "index" if indexed and not scan and not sort else "NO"
        nodes: list[str] = []

        def pg_nodes(node: Any) -> None:
            if isinstance(node, dict):
                if "Node Type" in node:
                    nodes.append(
                        str(node["Node Type"]) + (f" {node['Index Name']}" if "Index Name" in node else "")
                    )
                    if "Filter" in node:
                        nodes.append(f"filter {node['Filter']}")
                for value in node.values():
                    pg_nodes(value)
            elif isinstance(node, list):
                for value in node:
                    pg_nodes(value)

        pg_nodes(plan)
        detail = "; ".join(nodes) if nodes else re.sub(r"id=\d+ parent=\d+ notused=\d+ detail=", "", text)
        detail = detail[:110]
        return f"{tag}: {'+'.join(what) or '?'}; pushdown={push or 'none'}; {detail}"
    return "unknown plan: " + json.dumps(explained, default=str)[:120]


async def worker(spec: dict[str, Any]) -> dict[str, Any]:
    from pymongo import AsyncMongoClient  # the candidate's own pymongo (< 4.14 for mongo-java)

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        spec["url"], serverSelectionTimeoutMS=10_000, tz_aware=True, maxPoolSize=spec.get("clients", 1) + 4
    )
    db = client["storebench"]
    coll = db[spec["coll"]]
    case = spec["case"]
    rng = random.Random(case)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    out: dict[str, Any] = {"pymongo": __import__("pymongo").version}
    try:
        if case == "load":
            await db.drop_collection(spec["coll"])
            await coll.create_index([("tenant_id", 1), ("created_at", -1)])
            start = time.perf_counter()
            for lo in range(0, spec["docs"], INSERT_BATCH):
                hi = min(spec["docs"], lo + INSERT_BATCH)
                await coll.insert_many(
                    [make_doc(spec["coll"], i, f"tenant_{i % TENANTS}", base) for i in range(lo, hi)]
                )
            out["insert_s"] = time.perf_counter() - start
            out["count"] = await coll.count_documents({})
            try:
                out["server"] = (await db.command("buildInfo")).get("version")
            except Exception as e:
                out["server"] = f"buildInfo failed: {e}"
            return out

        docs: int = spec.get("docs", 0)

        async def by_id(_: int) -> bool:
            i = rng.randrange(docs)
            found = await coll.find_one({"_id": doc_id(spec["coll"], i)})
            return found is not None

        page_tenant: Callable[[], str] = lambda: f"tenant_{rng.randrange(TENANTS)}"  # noqa: E731
        if "tenant" in spec:
            page_tenant = lambda: str(spec["tenant"])  # noqa: E731

        async def page(_: int) -> bool:
            f = {"tenant_id": page_tenant()}
            got = await coll.find(f).sort("created_at", -1).limit(10).to_list(10)
            return len(got) > 0

        async def count(_: int) -> bool:
            return await coll.count_documents({"tenant_id": page_tenant()}) > 0

        async def page_count(k: int) -> bool:
            return await page(k) and await count(k)

        async def set_by_id(k: int) -> bool:
            i = rng.randrange(docs)
            r = await coll.update_one(
                {"_id": doc_id(spec["coll"], i)},
                {"$set": {"name": f"renamed {k}", "updated_at": dt.datetime.now(dt.UTC)}},
            )
            return r.matched_count == 1

        seconds = float(spec["seconds"])
        if case == "explain":
            t = spec.get("tenant", "tenant_1")
            queries: dict[str, tuple[dict[str, Any], bool]] = {
                "find by _id": ({"find": spec["coll"], "filter": {"_id": doc_id(spec["coll"], 1)}}, False),
                "page (sort, limit 10)": (
                    {
                        "find": spec["coll"],
                        "filter": {"tenant_id": t},
                        "sort": {"created_at": -1},
                        "limit": 10,
                    },
                    True,
                ),
                "count of the filter": (
                    {
                        "aggregate": spec["coll"],
                        "pipeline": [{"$match": {"tenant_id": t}}, {"$group": {"_id": 1, "n": {"$sum": 1}}}],
                        "cursor": {},
                    },
                    False,
                ),
            }
            for name, (cmd, sorted_query) in queries.items():
                try:
                    explained = await db.command({"explain": cmd, "verbosity": "queryPlanner"})
                    out[name] = plan_verdict(explained, sorted_query)
                except Exception as e:
                    out[name] = (
                        f"explain refused: {type(e).__name__}: {str(e).split(', full error')[0][:100]}"
                    )
            return out

        ops: dict[str, Callable[[int], Awaitable[bool]]] = {
            "by_id": by_id,
            "page": page,
            "count": count,
            "page_count": page_count,
            "set": set_by_id,
        }
        if case == "grow":  # add documents up to spec["to"], then measure the reads
            start = time.perf_counter()
            for lo in range(spec["from"], spec["to"], INSERT_BATCH):
                hi = min(spec["to"], lo + INSERT_BATCH)
                batch = []
                for i in range(lo, hi):
                    own = spec["scenario"] == "own" or (lo < 1000 and i % 10 == 0)
                    batch.append(
                        make_doc(spec["coll"], i, spec["tenant"] if own else f"other_{i % 97}", base)
                    )
                await coll.insert_many(batch)
            out["insert_s"] = time.perf_counter() - start
            out["tenant_docs"] = await coll.count_documents({"tenant_id": spec["tenant"]})
            docs = spec["to"]
            for name, n in (("by_id", 200), ("page", 100), ("count", 50)):
                await run_clients(1, 1, seconds, ops[name])  # warm
                out[name] = (await run_clients(1, n, seconds, ops[name])).summary()
            return out

        op = ops[case]
        clients = int(spec["clients"])
        await run_clients(min(clients, 4), 4, seconds, op)  # warm
        pids = [int(p) for p in spec.get("pids", [])]
        cpu0 = proc_cpu_seconds(pids) if pids else 0.0
        measured = await run_clients(clients, int(spec["ops"]), seconds, op)
        cpu1 = proc_cpu_seconds(pids) if pids else 0.0
        out.update(measured.summary())
        if pids and measured.latencies:
            out["cpu_ms_per_op"] = (
                (cpu1 - cpu0) * 1000 / (len(measured.latencies) + measured.summary()["failed"])
            )
        return out
    finally:
        await client.close()


# ====================================================================== orchestrator


@dataclass
class Running:
    cand: Candidate
    python: str
    pids: list[int]
    install: str
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def helper(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(HELPER), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def run_worker(r: Running, spec: dict[str, Any], timeout: float = 1800) -> dict[str, Any]:
    spec = {"url": f"mongodb://127.0.0.1:{r.cand.port}/?directConnection=true", **spec}
    try:
        done = subprocess.run(
            ["nice", "-n", "5", r.python, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"worker timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"worker failed: {tail[:200]}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def fmt_ms(v: float) -> str:
    return f"{v:,.1f}" if v < 100 else f"{v:,.0f}"


def print_case(title: str, key: str, runs: list[Running], metric: str = "latency") -> None:
    print(f"\n{title}")
    cells = [(r, r.results.get(key, {})) for r in runs]
    if metric == "latency":
        p50s = [c["p50"] for _, c in cells if "p50" in c]
        p99s = [c["p99"] for _, c in cells if "p99" in c]
        best50, best99 = (min(p50s), min(p99s)) if p50s else (0.0, 0.0)
        for r, c in cells:
            if "p50" not in c:
                print(
                    f"  {r.cand.label:<24} {c.get('error') or c.get('skipped') or 'no successful operation'}"
                )
                if c.get("errors"):
                    print(f"  {'':<24} errors: {c['errors']}")
                continue
            line = (
                f"  {r.cand.label:<24} p50 {fmt_ms(c['p50']):>8} ms  p99 {fmt_ms(c['p99']):>8} ms"
                f"  {c['p50'] / best50:>7.1f}x / {c['p99'] / best99:>6.1f}x best  n={c['n']}"
            )
            if c.get("failed"):
                line += f"  FAILED {c['failed']} of {c['n'] + c['failed']}"
            print(line)
            if c.get("errors"):
                for text, k in c["errors"].items():
                    print(f"  {'':<24}   {k} x {text}")
    else:
        vals = [c[metric] for _, c in cells if metric in c]
        best = min(vals) if vals else 0.0
        for r, c in cells:
            if metric not in c:
                print(f"  {r.cand.label:<24} {c.get('error') or c.get('skipped') or 'not measured'}")
                continue
            unit = "s" if metric == "insert_s" else "ms"
            extra = f"  ({c['docs_per_s']:,.0f} docs/s)" if "docs_per_s" in c else ""
            print(f"  {r.cand.label:<24} {c[metric]:>10,.1f} {unit:<3} {c[metric] / best:>7.1f}x best{extra}")


def markdown(runs: list[Running], rows: list[tuple[str, str]]) -> None:
    print("\n| case | " + " | ".join(r.cand.label for r in runs) + " |")
    print("|---|" + "---|" * len(runs))
    for title, key in rows:
        cells = []
        for r in runs:
            c = r.results.get(key, {})
            if key == "cpu":
                c = r.results.get("page_count_1", {})
                cells.append(f"{c['cpu_ms_per_op']:,.1f} ms" if "cpu_ms_per_op" in c else "n/a")
            elif key == "insert":
                c = r.results.get("load", {})
                cells.append(f"{c['insert_s']:,.1f} s" if "insert_s" in c else "n/a")
            elif "p50" in c:
                cell = f"{fmt_ms(c['p50'])} / {fmt_ms(c['p99'])}"
                if c.get("failed"):
                    cell += f", **{c['failed']} of {c['n'] + c['failed']} failed**"
                cells.append(cell)
            else:
                cells.append(str(c.get("error") or "n/a")[:60])
        print(f"| {title} | " + " | ".join(cells) + " |")


def main(args: argparse.Namespace) -> None:
    wanted = [c for c in CANDIDATES if not args.only or c.name in args.only.split(",")]
    runs: list[Running] = []
    absent: list[tuple[Candidate, str]] = []
    try:
        for cand in wanted:
            t0 = time.perf_counter()
            inst = helper("install", cand.name, timeout=1800)
            took = time.perf_counter() - t0
            if inst.returncode == 3:
                reason = "not measured: build time" if cand.name == "secantus-rs" else inst.stderr.strip()
                absent.append((cand, reason))
                print(f"[store] {cand.name}: {reason}", file=sys.stderr)
                continue
            if inst.returncode != 0:
                absent.append((cand, f"install failed: {inst.stderr.strip()[-200:]}"))
                continue
            word = inst.stdout.strip()
            install = (
                f"{word.split()[1]} s (measured now, from scratch)"
                if word.startswith("installed")
                else (
                    "cached" + (f" (first install took {word.split()[1]} s)" if len(word.split()) > 1 else "")
                )
            )
            if word.startswith("cached (binary"):
                install = word
            print(f"[store] {cand.name}: install {install} ({took:.1f} s here)", file=sys.stderr)
            st = helper("start", cand.name, str(cand.port), timeout=120)
            if st.returncode != 0 or not st.stdout.strip().startswith("pids"):
                absent.append((cand, f"did not start: {(st.stderr.strip() or st.stdout.strip())[-300:]}"))
                continue
            pids = [int(p) for p in st.stdout.split()[1:]]
            python = helper("client", cand.name).stdout.strip()
            runs.append(Running(cand, python, pids, install))
            print(f"[store] {cand.name}: up on 127.0.0.1:{cand.port}, pids {pids}", file=sys.stderr)

        def each(key: str, spec: dict[str, Any]) -> None:
            for r in runs:
                if "error" in r.results.get("load", {}) and key != "load":
                    r.results[key] = {"skipped": "load failed"}
                    continue
                print(f"[store] {r.cand.name}: {key}", file=sys.stderr)
                r.results[key] = run_worker(r, {"pids": r.pids, **spec})

        main_spec = {"coll": "agents", "docs": args.docs, "seconds": args.seconds}
        each("load", {**main_spec, "case": "load"})
        for r in runs:
            load = r.results["load"]
            if "insert_s" in load:
                load["docs_per_s"] = args.docs / load["insert_s"]
        each("explain", {**main_spec, "case": "explain"})
        n = args.clients
        each("by_id_1", {**main_spec, "case": "by_id", "clients": 1, "ops": 300})
        each("page_count_1", {**main_spec, "case": "page_count", "clients": 1, "ops": 100})
        each("page_count_n", {**main_spec, "case": "page_count", "clients": n, "ops": 4 * n})
        each("set_n", {**main_spec, "case": "set", "clients": n, "ops": 300})
        if args.growth:
            for scenario in ("spread", "own"):
                coll = f"growth_{scenario}"
                gspec = {"coll": coll, "scenario": scenario, "tenant": "tenant_q", "seconds": args.seconds}
                each(f"grow_{scenario}_load", {**gspec, "case": "load", "docs": 0})
                each(f"grow_{scenario}_1k", {**gspec, "case": "grow", "from": 0, "to": 1_000})
                each(f"grow_{scenario}_100k", {**gspec, "case": "grow", "from": 1_000, "to": 100_000})
                each(f"grow_{scenario}_explain", {**gspec, "case": "explain", "docs": 100_000})
    finally:
        for r in runs:
            helper("stop", r.cand.name, timeout=60)
            print(f"[store] {r.cand.name}: stopped (pids {r.pids})", file=sys.stderr)

    # ------------------------------------------------------------------ report
    print(
        f"Store comparison: {args.docs:,} agent documents in {TENANTS} tenants, index (tenant_id 1, "
        f"created_at -1), {args.clients} clients for the concurrent cases; latencies in ms (p50 / p99), "
        "ratios to the best candidate of each case (p50 / p99). Each case stops after "
        f"{args.seconds:.0f} s (n = operations done)."
    )
    for r in runs:
        load = r.results.get("load", {})
        print(
            f"  {r.cand.label:<24} server {load.get('server', '?')}, client pymongo "
            f"{load.get('pymongo', '?')}, pids {r.pids}"
        )
    for cand, reason in absent:
        print(f"  {cand.label:<24} {reason}")
    print_case("find by _id, 1 client", "by_id_1", runs)
    print_case(
        "filtered page (sort created_at -1, limit 10) + count of the filter, 1 client", "page_count_1", runs
    )
    print_case(f"same, {args.clients} clients", "page_count_n", runs)
    print_case(f"$set by _id, {args.clients} clients", "set_n", runs)
    print_case("server CPU per page + count (ms, 1 client)", "page_count_1", runs, metric="cpu_ms_per_op")
    print_case(f"insert {args.docs:,} documents (batches of {INSERT_BATCH})", "load", runs, metric="insert_s")

    print("\ninstall from scratch")
    for r in runs:
        print(f"  {r.cand.label:<24} {r.install}")
    for cand, reason in absent:
        print(f"  {cand.label:<24} {reason}")

    print(
        "\nexplain (queryPlanner): 'index' = served by an index with no collection scan and no blocking sort"
    )
    for r in runs:
        ex = r.results.get("explain", {})
        print(f"  {r.cand.label}")
        for q in ("find by _id", "page (sort, limit 10)", "count of the filter"):
            print(f"    {q:<22} {ex.get(q, ex.get('error', '?'))}")

    if args.growth:
        print(
            "\nGROWTH: 1 client, p50 / p99 ms at 1,000 and at 100,000 documents, ratio 100k / 1k (flat = 1)."
            "\n  spread: the queried tenant keeps 100 documents, the growth goes to other tenants;"
            "\n  own:    the queried tenant is the whole collection (1,000 -> 100,000)."
        )
        for scenario in ("spread", "own"):
            for name, title in (
                ("by_id", "find by _id"),
                ("page", "page limit 10"),
                ("count", "count of tenant"),
            ):
                print(f"\n  {scenario}: {title}")
                for r in runs:
                    a = r.results.get(f"grow_{scenario}_1k", {}).get(name, {})
                    b = r.results.get(f"grow_{scenario}_100k", {}).get(name, {})
                    if "p50" not in a or "p50" not in b:
                        err = (
                            r.results.get(f"grow_{scenario}_100k", {}).get("error")
                            or r.results.get(f"grow_{scenario}_1k", {}).get("error")
                            or "not measured"
                        )
                        print(f"    {r.cand.label:<24} {err}")
                        continue
                    print(
                        f"    {r.cand.label:<24} 1k {fmt_ms(a['p50']):>7} / {fmt_ms(a['p99']):>7}"
                        f"   100k {fmt_ms(b['p50']):>8} / {fmt_ms(b['p99']):>8}"
                        f"   ratio {b['p50'] / a['p50']:>7.1f}x / {b['p99'] / a['p99']:>6.1f}x"
                        f"  n={a['n']},{b['n']}"
                    )
            print(f"\n  {scenario}: insert 1k -> 100k, and explain at 100k")
            for r in runs:
                g = r.results.get(f"grow_{scenario}_100k", {})
                ex = r.results.get(f"grow_{scenario}_explain", {})
                ins = f"{g['insert_s']:,.1f} s" if "insert_s" in g else g.get("error", "?")
                print(f"    {r.cand.label:<24} insert {ins}; page: {ex.get('page (sort, limit 10)', '?')}")

    markdown(
        runs,
        [
            ("find by `_id`, 1 client", "by_id_1"),
            ("filtered, sorted page + count, 1 client", "page_count_1"),
            (f"same, {args.clients} clients", "page_count_n"),
            (f"`$set` by `_id`, {args.clients} clients", "set_n"),
            ("server CPU per indexed page + count", "cpu"),
            (f"insert {args.docs:,} docs", "insert"),
        ],
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(asyncio.run(worker(json.loads(sys.argv[2]))), default=str))
        sys.exit(0)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=10_000, help="documents in the main collection")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients for the N-client cases")
    parser.add_argument("--growth", action="store_true", help="also measure 1,000 vs 100,000 documents")
    parser.add_argument("--only", default="", help="comma-separated candidate names (default: all)")
    parser.add_argument("--seconds", type=float, default=30, help="time limit of one case on one candidate")
    main(parser.parse_args())
