"""Each call's event log as pages of public events: written by the projector, read by
``GET /calls/{sid}/events``, the transcript, and the events WebSocket's replay and gap repair.

Why pages and not a query on the ``events`` collection: FerretDB's SQLite backend hands only an exact
``{"_id": <string>}`` filter to SQL and scans everything else in Go, so a call's history must be a few
``_id`` lookups. One document per call would make every event rewrite the whole history (the cost of
an update grows with the document), so a page holds ``PAGE_SIZE`` events.

Each event is kept as its public JSON text, not as a sub-document: FerretDB's ``_id`` lookup still
parses every row of the table in SQL (the filter's expression does not match its index), and skipping
over a string is about ten times cheaper than parsing nested objects. The text is also what the events
WebSocket sends.
"""

from __future__ import annotations

import asyncio

from phony.events import EventEnvelope, current
from phony.projections.documents import CallEventPage

PAGE_SIZE = 50


def public_json(event: EventEnvelope) -> str:
    """The JSON text of ``event``'s public form (``EventEnvelope.public()``): what clients receive."""
    return event.model_dump_json(exclude_none=True, exclude={"command_id", "command_final"})


def page_of(seq: int) -> int:
    """The page number holding ``seq`` (seq counts from 1)."""
    return (seq - 1) // PAGE_SIZE


def page_id(call_sid: str, page: int) -> str:
    """``_id`` of one page of a call's events."""
    return f"{call_sid}:{page:06d}"


async def record(event: EventEnvelope) -> None:
    """Put ``event`` in its page. An absolute ``$set`` of ``events.<seq>`` keyed by ``_id`` alone, so
    applying it again after a crash leaves the same page."""
    await CallEventPage.get_pymongo_collection().update_one(
        {"_id": page_id(event.aggregate_id, page_of(event.seq))},
        {
            "$set": {
                "call_sid": event.aggregate_id,
                "tenant_id": event.tenant_id,
                f"events.{event.seq}": public_json(event),
            }
        },
        upsert=True,
    )


async def read_events(call_sid: str, after: int, upto: int) -> list[EventEnvelope]:
    """The stored events of a call with ``after < seq <= upto``, in seq order, upcast to the current
    versions (pages keep each event as it was projected).

    ``upto`` is the call's ``last_seq`` (or the seq just received live), so only pages that exist are
    asked for: on FerretDB a lookup that misses costs a scan of the whole collection.
    """
    if upto <= after:
        return []
    collection = CallEventPage.get_pymongo_collection()
    pages = range(page_of(after + 1), page_of(upto) + 1)
    docs = await asyncio.gather(*(collection.find_one({"_id": page_id(call_sid, p)}) for p in pages))
    found: list[tuple[int, str]] = []
    for doc in docs:
        for key, text in (doc or {}).get("events", {}).items():
            seq = int(key)
            if after < seq <= upto:
                found.append((seq, text))
    found.sort(key=lambda item: item[0])
    return [current(EventEnvelope.model_validate_json(text)) for _, text in found]
