"""Read models (MongoDB through Beanie). Disposable: ``phony rebuild`` recreates them from the log.

Only what MongoDB itself serves is used (plain finds, counts, upserts, unique indexes), so any
MongoDB wire-protocol server works. Each collection's indexes serve exactly the query shapes of
``queries.py``, which a test explains on the server.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

import pymongo
from beanie import Document, init_beanie
from pydantic import Field
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import AutoReconnect, OperationFailure

from phony.config import Settings


def _page_index(*equal: str) -> pymongo.IndexModel:
    """An index for a page of a list: its equality conditions, then the list's order (``created_at``,
    ``_id`` as the tie-break), walked backwards for newest first. Ascending: SecantusDB 0.7's Python
    server reads a ``$gte`` bound on a descending key as ``$gt`` (and ``[a, b)`` as empty), which
    tests/test_calls_read.py's span filter caught."""
    keys = [(name, pymongo.ASCENDING) for name in equal]
    return pymongo.IndexModel([*keys, ("created_at", pymongo.ASCENDING), ("_id", pymongo.ASCENDING)])


def _rank_index(*equal: str) -> pymongo.IndexModel:
    """An index for a ranked list (``queries.RankedList``): its equality conditions, then ``rank``."""
    return pymongo.IndexModel([*((name, pymongo.ASCENDING) for name in equal), ("rank", pymongo.ASCENDING)])


class TenantDoc(Document):
    id: str  # type: ignore[assignment]  # our ids are strings, not ObjectIds
    name: str
    status: str
    limits: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime

    class Settings:
        name = "tenants"
        indexes = [pymongo.IndexModel([("created_at", pymongo.ASCENDING), ("_id", pymongo.ASCENDING)])]


class ApiKeyDoc(Document):
    id: str  # type: ignore[assignment]
    tenant_id: str
    name: str
    prefix: str
    key_hash: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    # The tenant's status and limits, copied by the projection (tenant and key events share the
    # tenant's partition, so they are applied in order): a request authenticates in one read.
    tenant_status: str | None = None
    tenant_limits: dict[str, Any] | None = None

    class Settings:
        name = "api_keys"
        indexes = [
            pymongo.IndexModel([("key_hash", pymongo.ASCENDING)], unique=True),
            pymongo.IndexModel(
                [
                    ("tenant_id", pymongo.ASCENDING),
                    ("created_at", pymongo.ASCENDING),
                    ("_id", pymongo.ASCENDING),
                ]
            ),
        ]


class AgentDoc(Document):
    id: str  # type: ignore[assignment]
    tenant_id: str
    name: str
    system_prompt: str
    voice: str
    model: str
    greeting_message: str | None = None
    phone_numbers: list[str] = Field(default_factory=list)
    is_active: bool = True
    temperature: float = 0.8
    max_tokens: int | None = None
    supported_languages: list[str] = Field(default_factory=list)
    language_detection: bool = False
    transfer_allowlist: list[str] = Field(default_factory=list)
    require_approval: bool = False
    created_at: datetime
    updated_at: datetime
    deleted: bool = False
    # The agent's place among all its tenant's agents ever created, by (created_at, _id): 1, 2, ...
    # (deleted ones keep theirs). The same whatever order the creations are projected in (see
    # projections/agents.py), so a rebuild gives the same ranks. A page of a list is a range of ranks.
    rank: int = 0

    class Settings:
        name = "agents"
        indexes = [
            _rank_index("tenant_id", "deleted"),
            _rank_index("tenant_id", "deleted", "is_active"),
            pymongo.IndexModel([("tenant_id", pymongo.ASCENDING), ("created_at", pymongo.ASCENDING)]),
            pymongo.IndexModel([("phone_numbers", pymongo.ASCENDING)]),
        ]


class AgentTally(Document):
    """A tenant's agents counted: the ranks handed out, and the agents not deleted, active or not.
    Changed in the same transaction as the agent documents, so it never disagrees with them; a list's
    ``total`` is this one read, not a count over the tenant's agents."""

    id: str  # type: ignore[assignment]  # the tenant id
    ranked: int = 0  # the tenant's agents ever created (the highest rank)
    active: int = 0
    inactive: int = 0
    last: dict[str, Any] | None = None  # the highest-ranked agent's {"created_at", "_id"}

    class Settings:
        name = "agent_tallies"


class CallDoc(Document):
    id: str  # type: ignore[assignment]  # the call SID
    tenant_id: str
    agent_id: str | None = None
    direction: str
    from_number: str
    to_number: str
    status: str
    scenario: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration: float | None = None
    end_reason: str | None = None
    transferred_to: str | None = None
    awaiting_approval: list[str] = Field(default_factory=list)  # response ids held for a supervisor
    open_question: str | None = None  # the AI's request_user question, until it is answered
    last_seq: int = 0

    class Settings:
        name = "calls"
        indexes = [
            # Every combination of the list's filters (status, agent, direction) is a prefix of one.
            _page_index("tenant_id"),
            _page_index("tenant_id", "status"),
            _page_index("tenant_id", "agent_id", "status"),
            _page_index("tenant_id", "direction", "status"),
            _page_index("tenant_id", "agent_id", "direction", "status"),
            pymongo.IndexModel([("ended_at", pymongo.ASCENDING)]),
        ]


def stored_event_id(aggregate_id: str, seq: int) -> str:
    """``_id`` of an event's stored copy; sorts by seq within an aggregate."""
    return f"{aggregate_id}:{seq:012d}"


class StoredEvent(Document):
    """A copy of every event, for ``GET /calls/{sid}/events``, the transcript, ``since=`` replay, and
    the projector's idempotence guard: its ``_id`` is (aggregate_id, seq), so a second copy cannot
    exist, and the ``_id`` index gives an aggregate's events in seq order (``queries.call_events``).

    ``event`` is the event's public JSON text as projected: what the events WebSocket sends, byte for
    byte the same whether live or replayed (a BSON date would cut the timestamp to milliseconds).
    """

    id: str  # type: ignore[assignment]  # "<aggregate_id>:<seq, 12 digits>": unique per (aggregate, seq)
    aggregate_type: str
    aggregate_id: str
    tenant_id: str
    seq: int
    type: str
    timestamp: datetime
    event: str

    class Settings:
        name = "events"
        indexes = [
            pymongo.IndexModel([("aggregate_id", pymongo.ASCENDING), ("seq", pymongo.ASCENDING)], unique=True)
        ]


# The call audio store (phony.recordings): not a read model, never rebuilt, but read by the same
# query shapes (queries.recordings_of).
RECORDINGS = "call_audio"
RECORDINGS_INDEXES = [pymongo.IndexModel([("call_sid", pymongo.ASCENDING)])]


READ_MODELS: tuple[type[Document], ...] = (
    TenantDoc,
    ApiKeyDoc,
    AgentDoc,
    AgentTally,
    CallDoc,
    StoredEvent,
)


def mongo_client(settings: Settings) -> AsyncMongoClient[dict[str, Any]]:
    """A client with short server-selection timeouts, so a dead MongoDB gives a quick 503, whose
    writes are acknowledged once journaled (``j: true``): the projector commits its Kafka offsets on
    the store's word, and a write a crash loses would never be made again."""
    return AsyncMongoClient(settings.mongodb_url, serverSelectionTimeoutMS=3000, tz_aware=True, journal=True)


async def init_read_models(client: AsyncMongoClient[dict[str, Any]], settings: Settings) -> None:
    """Bind the Beanie documents to the configured database and create their missing indexes.

    Index creation is ours, not Beanie's: FerretDB 1.24 drops the connection when ``createIndexes``
    names only indexes that already exist (what Beanie sends on every start after the first), so we
    ask only for the missing ones.
    """
    database = client[settings.mongodb_db]
    await init_beanie(database=database, document_models=list(READ_MODELS), skip_indexes=True)
    await ensure_all_indexes(database)


async def ensure_all_indexes(database: AsyncDatabase[dict[str, Any]]) -> None:
    """Every collection's indexes (read models and recordings), those missing created."""
    for model in READ_MODELS:
        await ensure_indexes(database[model.Settings.name], getattr(model.Settings, "indexes", []))
    await ensure_indexes(database[RECORDINGS], RECORDINGS_INDEXES)


async def ensure_indexes(
    collection: AsyncCollection[dict[str, Any]], indexes: list[pymongo.IndexModel], attempts: int = 5
) -> None:
    """Create those of ``indexes`` the collection does not have yet, and drop those it has beyond
    them (and ``_id``).

    Processes starting together race here: one may create an index between another's listing and its
    ``createIndexes``, which FerretDB answers by dropping the connection. The loser lists again.
    """
    wanted = {ix.document["name"] for ix in indexes}
    for attempt in range(1, attempts + 1):
        try:
            existing = {ix["name"] async for ix in await collection.list_indexes()}
        except OperationFailure:  # the collection does not exist yet
            existing = set()
        missing = [ix for ix in indexes if ix.document["name"] not in existing]
        try:
            if missing:
                await collection.create_indexes(missing)
            for name in existing - wanted - {"_id_"}:
                # One an earlier version made: every write would still pay for it.
                with contextlib.suppress(OperationFailure):  # another process dropped it first
                    await collection.drop_index(name)
            return
        except (AutoReconnect, OperationFailure):
            if attempt == attempts:
                raise
            await asyncio.sleep(0.1 * attempt)
