"""Snapshots of a partition's aggregate states, so that taking a partition over reads a snapshot and the
events after it instead of the whole log (which is kept forever).

Where they live: the compacted topic ``<prefix>.snapshots`` (:mod:`phony.workers.snapshot_topic`),
co-partitioned with the events topic, one record per aggregate (key: its id, value: its state) and one
position record per partition (key :data:`POSITION_KEY`: the events offset the states are valid up
to). This is a Kafka Streams changelog, chosen over one message per partition and over MongoDB:

- **Only the owner writes, and a fenced one cannot.** The records go through the partition's
  transactional producer, whose id the next owner takes over: a fenced worker's snapshot is aborted,
  and restores read ``read_committed``, so they never see it. MongoDB would need an epoch of our own
  and a compare-and-set on every write (and FerretDB refuses concurrent writes).
- **A snapshot writes what changed, not everything.** Each one is a transaction of the states folded
  since the last (at most ``snapshot_every`` events' worth) and then the position; compaction keeps
  the latest record per key. One message holding all of a partition would rewrite 10,000 ended calls
  (about 2 MB, over Kafka's default 1 MB message limit) every ``snapshot_every`` events, and grow with
  every call the partition ever had.
- **Consistent without locks.** A state's record may hold events beyond the position: the fold
  ignores events at or below a state's ``seq``, so folding the log from the position again is
  harmless. A record must never lack an event before the position: the position is the offset after
  the last commit the store had folded when the changes were taken, one snapshot per partition is in
  flight at a time, and one that fails puts its aggregates back among the changed ones.

The states are stored as the worker holds them: an ended call is the summary the call worker keeps
(``ended_summary``), and fields at their defaults are left out, so a summary is about 180 bytes. A live
call, a tenant and an agent are stored whole. Every record carries :data:`SCHEMA`, a digest of the
state classes' shapes and of the source of the modules that fold events into them: a snapshot written
by other code is not read (the partition is then restored from the whole log once, and snapshotted
anew), so a fold that makes something else of the same events never meets a state the old one made.
The log is the truth, a snapshot a cache.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
from dataclasses import dataclass
from types import ModuleType

from pydantic import TypeAdapter, ValidationError

from phony.config import Settings
from phony.events import AggregateType, upcasters
from phony.workers import agents, tenants
from phony.workers.agents import AgentState
from phony.workers.calls import state as call_state
from phony.workers.calls.state import CallState
from phony.workers.decisions import AggregateState
from phony.workers.snapshot_topic import Headers, SnapshotRecord, read_latest
from phony.workers.tenants import TenantState

log = logging.getLogger(__name__)

STATE_TYPES: dict[AggregateType, type[AggregateState]] = {
    "tenant": TenantState,
    "agent": AgentState,
    "call": CallState,
}
POSITION_KEY = b"@position"  # no aggregate id starts with "@"
FORMAT = 1  # of the records themselves
# What decides a state, given the events: their upcasting and the folds (and the store's, which calls
# them, in phony.workers.store: it only numbers and stamps).
FOLD_MODULES: tuple[ModuleType, ...] = (upcasters, tenants, agents, call_state)
# A record larger than this would fail its whole transaction (Kafka's default limit is 1 MB).
MAX_RECORD_BYTES = 900_000

_ADAPTERS: dict[str, TypeAdapter[AggregateState]] = {
    name: TypeAdapter(cls) for name, cls in STATE_TYPES.items()
}
_TYPE_OF: dict[type[AggregateState], str] = {cls: name for name, cls in STATE_TYPES.items()}


def _schema() -> bytes:
    shapes = {name: adapter.json_schema() for name, adapter in _ADAPTERS.items()}
    digest = hashlib.sha256(json.dumps([FORMAT, shapes], sort_keys=True).encode())
    for module in FOLD_MODULES:
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()[:16].encode()


SCHEMA = _schema()


@dataclass(frozen=True)
class Snapshot:
    """A partition's states as of its events up to (not including) ``next_offset``."""

    states: dict[str, AggregateState]
    next_offset: int


@dataclass(frozen=True)
class Changes:
    """What one snapshot of ``partition`` writes: the records of the states changed since the last
    one, then the position record. ``events`` counts the events folded since the last one (put back,
    with ``ids``, when this one is not written)."""

    partition: int
    ids: frozenset[str]
    events: int
    records: tuple[SnapshotRecord, ...]


def state_record(aggregate_id: str, state: AggregateState) -> SnapshotRecord:
    """One aggregate's record (its fields at their defaults left out)."""
    name = _TYPE_OF[type(state)]
    value = _ADAPTERS[name].dump_json(state, exclude_defaults=True)
    return aggregate_id.encode(), value, (("type", name.encode()), ("schema", SCHEMA))


def position_record(next_offset: int) -> SnapshotRecord:
    """The record that says up to which events offset the partition's state records are valid."""
    value = json.dumps({"next_offset": next_offset}).encode()
    return POSITION_KEY, value, (("type", b"position"), ("schema", SCHEMA))


def decode_state(value: bytes, headers: Headers) -> AggregateState:
    """The state a :func:`state_record` holds (``ValueError`` when it is of another schema)."""
    found = dict(headers)
    if found.get("schema") != SCHEMA:
        raise ValueError(f"snapshot of schema {found.get('schema')!r}, this code writes {SCHEMA!r}")
    adapter = _ADAPTERS.get(found.get("type", b"").decode())
    if adapter is None:
        raise ValueError(f"snapshot of unknown aggregate type {found.get('type')!r}")
    # Made anew through the dataclass's __init__: pydantic fills the instance's __dict__ itself, which
    # then does not share its keys with the class's other instances (1.3 KB a summary instead of 0.75;
    # dataclasses.replace would do the same, at twice the cost).
    state = adapter.validate_json(value)
    return type(state)(**vars(state))


def decode_snapshot(latest: dict[bytes, tuple[bytes, Headers]]) -> Snapshot | None:
    """The snapshot the changelog's latest records make; None when there is none (or it is of another
    schema, or unreadable: then the partition is restored from the whole log)."""
    position = latest.pop(POSITION_KEY, None)
    if position is None:
        return None
    value, headers = position
    try:
        if dict(headers).get("schema") != SCHEMA:
            raise ValueError(f"snapshot of schema {dict(headers).get('schema')!r}")
        next_offset = int(json.loads(value)["next_offset"])
        states = {key.decode(): decode_state(v, h) for key, (v, h) in latest.items()}
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        log.warning("snapshot not used, restoring from the whole log: %s", exc)
        return None
    return Snapshot(states, next_offset)


async def read_snapshot(settings: Settings, partition: int) -> Snapshot | None:
    """The latest committed snapshot of ``partition``, if any."""
    return decode_snapshot(await read_latest(settings, partition))
