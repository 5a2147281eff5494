"""Projects agent events into ``agents`` (deleted agents stay as tombstones, invisible to the API) and
each tenant's ``agent_tallies``.

An agent's ``rank`` is its place among its tenant's agents by (``created_at``, ``_id``). Creations
reach the projector out of that order only when they were made at nearly the same time on different
partitions (or in a rebuild, which reads partitions side by side): a creation projected late takes the
rank of the first agent created after it, and those move up one. So ranks are the same whatever the
order of projection, and a late one moves the few agents created after it.

An agent document and its tenant's tally change in one transaction: a list's total never disagrees
with its members, and an event applied again after a crash (its stored copy not yet written) changes
nothing, because what it would change is already there (the insert of a created agent fails, an
update finds the values it would set).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from phony.events import EventEnvelope
from phony.events.agents import AgentCreated, AgentDeleted, AgentUpdated
from phony.projections import queries
from phony.projections.documents import AgentDoc, AgentTally

Work = Callable[[AsyncClientSession], Awaitable[None]]


async def _atomically(work: Work) -> None:
    """Run ``work`` in a transaction, again from the start while it conflicts with another (two
    partitions' agents of one tenant change its tally at once)."""
    async with queries.read_models().client.start_session() as session:
        await session.with_transaction(work)


def _counted(is_active: bool, by: int) -> dict[str, int]:
    return {"active" if is_active else "inactive": by}


async def _tally(
    session: AsyncClientSession,
    tenant_id: str,
    change: dict[str, int],
    *,
    last: dict[str, Any] | None = None,
    unless_after: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Add ``change`` to the tenant's tally (and make ``last`` its last agent); with ``unless_after``,
    only if the tally's last agent is before that place (else ``None``: nothing changed)."""
    wanted: dict[str, Any] = {"_id": tenant_id}
    if unless_after is not None:
        at, agent_id = unless_after["created_at"], unless_after["_id"]
        wanted["$or"] = [
            {"last.created_at": {"$lt": at}},
            {"last.created_at": at, "last._id": {"$lt": agent_id}},
        ]
    update: dict[str, Any] = {"$inc": change}
    if last is not None:
        update["$set"] = {"last": last}
    tally: dict[str, Any] | None = await AgentTally.get_pymongo_collection().find_one_and_update(
        wanted, update, upsert=unless_after is None, return_document=ReturnDocument.AFTER, session=session
    )
    return tally


def _as_stored(at: datetime) -> datetime:
    """``at`` as the store keeps it (BSON dates hold milliseconds), so places compare alike."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


async def _rank_for(
    session: AsyncClientSession, tenant_id: str, place: dict[str, Any], change: dict[str, int]
) -> int:
    """The rank of a new agent at ``place`` (its created_at and _id), its tally changed by ``change``.

    Most creations come after the tenant's last agent: one conditional update of the tally says so
    and hands out the next rank. Else (the tenant's first agent, or one projected late) the agents
    created after it move up one and it takes the first of their ranks."""
    appended = await _tally(session, tenant_id, change, last=place, unless_after=place)
    if appended is not None:
        return int(appended["ranked"])
    tally = await queries.agent_tally(tenant_id).first(session=session) or {}
    last = tally.get("last")
    if last is None or (last["created_at"], last["_id"]) < (place["created_at"], place["_id"]):
        first = await _tally(session, tenant_id, change, last=place)
        assert first is not None  # an upsert returns the document after it
        return int(first["ranked"])
    if last["_id"] == place["_id"]:  # it is the tenant's last agent: applied before
        raise DuplicateKeyError(f"agent {place['_id']} exists")
    await _tally(session, tenant_id, change)
    since = await queries.agents_created_since(tenant_id, place["created_at"]).all(session=session)
    later = [d for d in since if (d["created_at"], d["_id"]) > (place["created_at"], place["_id"])]
    await AgentDoc.get_pymongo_collection().update_many(
        {"_id": {"$in": [doc["_id"] for doc in later]}}, {"$inc": {"rank": 1}}, session=session
    )
    return min(int(doc["rank"]) for doc in later)


def _place(event: EventEnvelope) -> dict[str, Any]:
    return {"created_at": _as_stored(event.timestamp), "_id": event.aggregate_id}


def _agent_doc(event: EventEnvelope, data: AgentCreated, rank: int) -> AgentDoc:
    return AgentDoc(
        id=event.aggregate_id,
        tenant_id=event.tenant_id,
        created_at=_as_stored(event.timestamp),
        updated_at=event.timestamp,
        rank=rank,
        **data.settings.model_dump(),
    )


async def agent_created(event: EventEnvelope, data: AgentCreated) -> None:
    change = {"ranked": 1, **_counted(data.settings.is_active, 1)}

    async def work(session: AsyncClientSession) -> None:
        rank = await _rank_for(session, event.tenant_id, _place(event), change)
        await _agent_doc(event, data, rank).insert(session=session)

    await _atomically(work)


class NotAppended(Exception):
    """Creations that do not all come after their tenant's last agent (or it has none yet)."""


async def agents_created(tenant_id: str, created: Sequence[tuple[EventEnvelope, AgentCreated]]) -> None:
    """Several creations of one tenant's agents in one transaction: one change of the tally and one
    insert, the ranks handed out in (created_at, _id) order. Only when all of them come after the
    tenant's last agent (else ``NotAppended``, and nothing changed: they are for :func:`agent_created`
    one by one), which is how creations made at nearly the same time on different partitions reach a
    projector in one batch; 32 of them were 32 transactions taking turns for the tally."""
    ordered = sorted(created, key=lambda c: (_as_stored(c[0].timestamp), c[0].aggregate_id))
    change = Counter({"ranked": len(ordered)})
    for _, data in ordered:
        change.update(_counted(data.settings.is_active, 1))
    first, last = _place(ordered[0][0]), _place(ordered[-1][0])

    async def work(session: AsyncClientSession) -> None:
        appended = await _tally(session, tenant_id, change, last=last, unless_after=first)
        if appended is None:
            raise NotAppended(tenant_id)
        rank = int(appended["ranked"]) - len(ordered) + 1
        docs = [_agent_doc(event, data, rank + i) for i, (event, data) in enumerate(ordered)]
        await AgentDoc.insert_many(docs, session=session)

    await _atomically(work)


async def _change(event: EventEnvelope, alive: bool, changes: dict[str, Any]) -> None:
    """Set ``changes`` on a live agent and count it where it now belongs: among the deleted (not
    counted) when ``alive`` is false, else by its ``is_active``."""

    async def work(session: AsyncClientSession) -> None:
        before: dict[str, Any] | None = await AgentDoc.get_pymongo_collection().find_one_and_update(
            {"_id": event.aggregate_id, "deleted": False},
            {"$set": {**changes, "updated_at": event.timestamp}},
            projection={"is_active": 1},
            return_document=ReturnDocument.BEFORE,
            session=session,
        )
        if before is None:
            return
        was, now = before["is_active"], changes.get("is_active", before["is_active"])
        if not alive:
            await _tally(session, event.tenant_id, _counted(was, -1))
        elif was != now:
            await _tally(session, event.tenant_id, {**_counted(was, -1), **_counted(now, 1)})

    await _atomically(work)


async def agent_updated(event: EventEnvelope, data: AgentUpdated) -> None:
    await _change(event, alive=True, changes=data.settings.model_dump())


async def agent_deleted(event: EventEnvelope, data: AgentDeleted) -> None:
    await _change(event, alive=False, changes={"deleted": True})
