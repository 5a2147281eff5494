"""What the store keeps of the writes it acknowledged when it is SIGKILLed, and what keeping them costs:
SecantusDB as it starts by default beside SecantusDB as scripts/services.sh runs it
(scripts/secantusd.toml: ``sync_on_commit``), side by side in one run.

    .venv/bin/python bench/durability.py [--writes 300] [--rounds 3]

For each server and kind of write (a plain insert, an insert with ``j: true``, an insert in a
transaction, as the projector writes an agent and its tally), it times ``--writes`` writes one after
another, SIGKILLs the server by PID right after the last acknowledgement, starts it again on the same
data and counts what is there. Each server (tests.support.SecantusServer) runs on a free port with a
data directory of its own under a temporary directory, and is stopped by PID at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pymongo import MongoClient, WriteConcern

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import SECANTUSD, SECANTUSD_CONFIG, SecantusServer  # noqa: E402

SETUPS: dict[str, tuple[str, ...]] = {
    "default": ("--host", "127.0.0.1", "--standalone", "--log-level", "WARNING"),
    "services.sh": SECANTUSD_CONFIG,
}


def connected(server: SecantusServer) -> MongoClient[dict[str, Any]]:
    """A client of ``server``, once it answers."""
    client: MongoClient[dict[str, Any]] = MongoClient(server.url, serverSelectionTimeoutMS=30_000)
    client.admin.command("ping")
    return client


Write = Callable[[MongoClient[dict[str, Any]], int], None]


def plain(client: MongoClient[dict[str, Any]], i: int) -> None:
    client.bench.docs.insert_one({"_id": i})


def journaled(client: MongoClient[dict[str, Any]], i: int) -> None:
    client.bench.get_collection("docs", write_concern=WriteConcern(j=True)).insert_one({"_id": i})


def transaction(client: MongoClient[dict[str, Any]], i: int) -> None:
    def work(session: Any) -> None:
        client.bench.docs.insert_one({"_id": i}, session=session)
        client.bench.tally.update_one({"_id": "t"}, {"$inc": {"n": 1}}, upsert=True, session=session)

    with client.start_session() as session:
        session.with_transaction(work, write_concern=WriteConcern(j=True))


WRITES: dict[str, Write] = {"insert": plain, "insert j:true": journaled, "transaction j:true": transaction}


def trial(flags: tuple[str, ...], write: Write, writes: int, home: Path) -> tuple[float, int]:
    """ms a write, and how many of ``writes`` acknowledged writes a SIGKILL right after left."""
    shutil.rmtree(home, ignore_errors=True)
    server = SecantusServer(home, flags)
    try:
        server.start()
        client = connected(server)
        client.bench.docs.insert_one({"_id": -1})  # the collection exists before the clock starts
        time.sleep(1)
        began = time.perf_counter()
        for i in range(writes):
            write(client, i)
        per_write = (time.perf_counter() - began) / writes * 1000
        server.kill()
        client.close()
        server.start()
        client = connected(server)
        kept = client.bench.docs.count_documents({"_id": {"$gte": 0}})
        client.close()
        return per_write, kept
    finally:
        server.kill()


def main(writes: int, rounds: int) -> None:
    if not SECANTUSD.exists():
        sys.exit(f"{SECANTUSD} is missing: run scripts/services.sh install first")
    results: dict[tuple[str, str], list[tuple[float, int]]] = {}
    with tempfile.TemporaryDirectory(prefix="phony-durability-") as tmp:
        for _ in range(rounds):  # the setups take turns, so machine noise hits both alike
            for kind, write in WRITES.items():
                for setup, flags in SETUPS.items():
                    home = Path(tmp) / setup
                    results.setdefault((kind, setup), []).append(trial(flags, write, writes, home))
    print(f"{'write':<20}{'setup':<14}{'ms/write':>10}{'kept after SIGKILL':>22}{'cost':>8}")
    for kind in WRITES:
        base = min(ms for ms, _ in results[(kind, "default")])
        for setup in SETUPS:
            runs = results[(kind, setup)]
            best = min(ms for ms, _ in runs)
            kept = ", ".join(str(k) for _, k in runs)
            print(f"{kind:<20}{setup:<14}{best:>10.2f}{kept + f' of {writes}':>22}{best / base:>7.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    main(args.writes, args.rounds)
