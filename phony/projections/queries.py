"""Every read Phony makes of its stored documents, one function per query shape.

Routers, the events WebSocket, the projector and the recordings all read through these shapes, and
``tests/test_query_plans.py`` asks the server to explain each of them: a shape that no index serves
(a collection scan) fails the suite. Each shape names the index that serves it beside the document's
``Settings.indexes`` (documents.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from phony.projections.documents import (
    RECORDINGS,
    AgentDoc,
    AgentTally,
    ApiKeyDoc,
    CallDoc,
    StoredEvent,
    TenantDoc,
    stored_event_id,
)

Doc = dict[str, Any]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Sort = tuple[tuple[str, int], ...]


def read_models() -> AsyncDatabase[Doc]:
    """The database the read models were bound to (``init_read_models``, in each process's lifespan)."""
    return TenantDoc.get_pymongo_collection().database


@dataclass(frozen=True)
class Query:
    """A filter on one collection, with the order its results come in."""

    collection: str
    filter: Mapping[str, Any]
    sort: Sort = ()
    projection: Mapping[str, int] | None = field(default=None)

    def on(self, database: AsyncDatabase[Doc] | None = None) -> AsyncCollection[Doc]:
        return (database if database is not None else read_models())[self.collection]

    async def first(
        self, database: AsyncDatabase[Doc] | None = None, session: AsyncClientSession | None = None
    ) -> Doc | None:
        found: Doc | None = await self.on(database).find_one(
            dict(self.filter), projection=self._projection(), sort=list(self.sort) or None, session=session
        )
        return found

    async def page(
        self,
        offset: int,
        limit: int,
        database: AsyncDatabase[Doc] | None = None,
        session: AsyncClientSession | None = None,
    ) -> list[Doc]:
        cursor = self.on(database).find(dict(self.filter), projection=self._projection(), session=session)
        if self.sort:
            cursor = cursor.sort(list(self.sort))
        return [doc async for doc in cursor.skip(offset).limit(limit)]

    async def all(
        self, database: AsyncDatabase[Doc] | None = None, session: AsyncClientSession | None = None
    ) -> list[Doc]:
        return await self.page(0, 0, database, session)

    async def count(self, database: AsyncDatabase[Doc] | None = None) -> int:
        return await self.on(database).count_documents(dict(self.filter))

    def _projection(self) -> dict[str, int] | None:
        return dict(self.projection) if self.projection is not None else None

    def ranks(self, low: int, high: int) -> Query:
        """This query narrowed to ``low <= rank < high`` (for a :class:`RankedList`)."""
        return replace(self, filter={**self.filter, "rank": {"$gte": low, "$lt": high}})


@dataclass(frozen=True)
class RankedList:
    """A list whose members carry a rank (1, 2, ... in the list's order; holes where the filter drops
    members), paged by bounded ranges of ranks.

    ``skip``/``limit`` over a whole filter is as dear as the filter is long on a store that sorts and
    counts in memory (SecantusDB's Python server): a page of a tenant's thousand agents read and
    sorted all thousand. A range of ranks touches only its own members, so a page costs what it skips
    and returns, however long the list. ``ranked`` is how many ranks were handed out and ``visible``
    how many members the filter keeps (from the list's tally): their ratio sizes the first range to
    hold the page, and each next one is twice as long.
    """

    members: Query  # the list's filter, ordered by rank
    ranked: int
    visible: int

    async def page(self, offset: int, limit: int, database: AsyncDatabase[Doc] | None = None) -> list[Doc]:
        if offset >= self.visible:
            return []
        density = self.visible / max(1, self.ranked)
        span = math.ceil((offset + limit) / density) + 8
        low, skip, found = 1, offset, list[Doc]()
        while low <= self.ranked and len(found) < limit:
            window = self.members.ranks(low, low + span)
            if skip and (held := await window.count(database)) <= skip:
                skip -= held
            else:
                found += await window.page(skip, limit - len(found), database)
                skip = 0
            low, span = low + span, span * 2
        return found


def by_id(collection: str, doc_id: str, *fields: str) -> Query:
    """One document by ``_id`` (the ``_id`` index), optionally only ``fields``."""
    return Query(collection, {"_id": doc_id}, projection=dict.fromkeys(fields, 1) if fields else None)


def tenant(tenant_id: str) -> Query:
    return by_id(TenantDoc.Settings.name, tenant_id)


def tenants() -> Query:
    """Every tenant, oldest first: those created since the epoch, a range on the index ``created_at,
    _id`` (an empty filter would be a collection scan on a store that counts by scanning)."""
    return Query(
        TenantDoc.Settings.name, {"created_at": {"$gte": EPOCH}}, sort=(("created_at", 1), ("_id", 1))
    )


def key_by_hash(key_hash: str) -> Query:
    """The key a request presents (the unique ``key_hash`` index)."""
    return Query(ApiKeyDoc.Settings.name, {"key_hash": key_hash})


def key(key_id: str) -> Query:
    return by_id(ApiKeyDoc.Settings.name, key_id)


def keys_of(tenant_id: str) -> Query:
    """A tenant's keys, oldest first (index ``tenant_id, created_at``)."""
    return Query(ApiKeyDoc.Settings.name, {"tenant_id": tenant_id}, sort=(("created_at", 1), ("_id", 1)))


def agent(agent_id: str) -> Query:
    return by_id(AgentDoc.Settings.name, agent_id)


def agent_tally(tenant_id: str) -> Query:
    """The tenant's agents counted (``AgentTally``, by ``_id``)."""
    return by_id(AgentTally.Settings.name, tenant_id)


def agents_created_since(tenant_id: str, at: datetime) -> Query:
    """A tenant's agents (deleted ones too) created at ``at`` or later: the few a creation projected
    late goes before (index ``tenant_id, created_at``)."""
    return Query(AgentDoc.Settings.name, {"tenant_id": tenant_id, "created_at": {"$gte": at}})


def agents_of(tenant_id: str, is_active: bool | None = None) -> Query:
    """A tenant's agents oldest first (by ``created_at``, then ``_id``), read a range of ranks at a time
    (:func:`agent_list`; index ``tenant_id, deleted, rank``, or with ``is_active`` the one that also
    holds it: every condition is a field of the index)."""
    wanted: dict[str, Any] = {"tenant_id": tenant_id, "deleted": False}
    if is_active is not None:
        wanted["is_active"] = is_active
    return Query(AgentDoc.Settings.name, wanted, sort=(("rank", 1),))


async def agent_list(
    tenant_id: str, is_active: bool | None = None, database: AsyncDatabase[Doc] | None = None
) -> RankedList:
    """The tenant's agents (``is_active`` or all) as a :class:`RankedList`, with its tally."""
    tally = await agent_tally(tenant_id).first(database) or {}
    active, inactive = int(tally.get("active", 0)), int(tally.get("inactive", 0))
    visible = {True: active, False: inactive, None: active + inactive}[is_active]
    return RankedList(agents_of(tenant_id, is_active), int(tally.get("ranked", 0)), visible)


def agents_with_number(number: str) -> Query:
    """The agents that hold ``number`` (multikey index ``phone_numbers``; which of them answers it,
    the active one, is for the caller to pick: a handful of documents at most)."""
    return Query(AgentDoc.Settings.name, {"phone_numbers": number})


def call(call_sid: str, *fields: str) -> Query:
    return by_id(CallDoc.Settings.name, call_sid, *fields)


def calls_of(
    tenant_id: str,
    *,
    status: str | None = None,
    agent_id: str | None = None,
    direction: str | None = None,
    created_since: datetime | None = None,
    created_before: datetime | None = None,
) -> Query:
    """A tenant's calls, newest first, optionally of one status, agent or direction, created in a
    span of time: every combination has an index holding each of its equalities, then
    ``created_at`` for the span (``CallDoc.Settings.indexes``)."""
    wanted: dict[str, Any] = {"tenant_id": tenant_id}
    for name, value in (("status", status), ("agent_id", agent_id), ("direction", direction)):
        if value is not None:
            wanted[name] = value
    span = {op: at for op, at in (("$gte", created_since), ("$lt", created_before)) if at is not None}
    if span:
        wanted["created_at"] = span
    return Query(CallDoc.Settings.name, wanted, sort=(("created_at", -1), ("_id", -1)))


def live_calls() -> Query:
    """Calls not ended yet, of every tenant (index ``ended_at``: ``null`` matches a missing field)."""
    return Query(CallDoc.Settings.name, {"ended_at": None})


def call_events(call_sid: str, after: int, upto: int) -> Query:
    """A call's stored events with ``after < seq <= upto`` in seq order (unique index
    ``aggregate_id, seq``: an equality and a range on it)."""
    return Query(
        StoredEvent.Settings.name,
        {"aggregate_id": call_sid, "seq": {"$gt": after, "$lte": upto}},
        sort=(("seq", 1),),
    )


def stored_event(aggregate_id: str, seq: int) -> Query:
    return by_id(StoredEvent.Settings.name, stored_event_id(aggregate_id, seq), "_id")


def recording(segment_id: str) -> Query:
    return by_id(RECORDINGS, segment_id)


def recordings_of(call_sid: str) -> Query:
    """Every stored audio segment of a call (index ``call_sid``)."""
    return Query(RECORDINGS, {"call_sid": call_sid})
