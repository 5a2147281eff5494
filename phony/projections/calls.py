"""Projects call events into ``calls`` (one small document per call: status, parties, timestamps) and
into the call's event pages (``call_pages``), from which the event list and the transcript are read.

Status follows Twilio's vocabulary. It only moves forward (queued → ringing → in-progress → a final
status), so a late or repeated lifecycle event never takes a call back; ``call.ended`` sets the final
status from its reason. Every timestamp comes from the event, so a rebuild gives the same documents.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from phony.events import EventEnvelope
from phony.events.calls import (
    CALL_EVENTS,
    CallAnswered,
    CallEnded,
    CallRinging,
    CallStarted,
    CallTransferred,
    EndReason,
    MediaStarted,
)
from phony.projections import call_pages
from phony.projections.documents import CallDoc

Handler = Callable[[EventEnvelope, Any], Awaitable[None]]

_RANK: Mapping[str, int] = {"queued": 0, "ringing": 1, "in-progress": 2}
FINAL_RANK = 3  # completed, busy, no-answer, failed, canceled

END_STATUS: Mapping[EndReason, str] = {
    "completed": "completed",
    "caller_hangup": "completed",
    "ai_ended": "completed",
    "supervisor_ended": "completed",
    "transferred": "completed",
    "no_answer": "no-answer",
    "busy": "busy",
    "canceled": "canceled",
    "failed": "failed",
    "model_error": "failed",
    "no_agent": "failed",
}


def _rank(status: str) -> int:
    return _RANK.get(status, FINAL_RANK)


async def _progress(event: EventEnvelope, changes: Mapping[str, Any]) -> None:
    """Record the event in its page, then set ``last_seq`` and ``changes`` on the call (absolute
    values under an ``_id``-only filter: re-applying is harmless, and FerretDB answers it in SQL)."""
    await call_pages.record(event)
    await CallDoc.get_pymongo_collection().update_one(
        {"_id": event.aggregate_id}, {"$set": {"last_seq": event.seq, **changes}}
    )


async def _advance(event: EventEnvelope, status: str, *, answered: bool) -> None:
    """Move the call to ``status`` unless it is already there or further; note when it was answered.

    Reading before writing is safe: one projector applies a call's events one at a time, in order.
    """
    current = await CallDoc.get_pymongo_collection().find_one(
        {"_id": event.aggregate_id}, projection={"status": 1, "answered_at": 1}
    )
    changes: dict[str, Any] = {}
    if current is not None and _rank(status) > _rank(current["status"]):
        changes["status"] = status
    if (
        answered
        and current is not None
        and current.get("answered_at") is None
        and _rank(current["status"]) < FINAL_RANK
    ):
        changes["answered_at"] = event.timestamp
    await _progress(event, changes)


async def call_started(event: EventEnvelope, data: CallStarted) -> None:
    """The call's first event creates its document with an insert (a duplicate means: applied)."""
    await call_pages.record(event)
    await CallDoc(
        id=event.aggregate_id,
        tenant_id=event.tenant_id,
        agent_id=data.agent_id,
        direction=data.direction,
        from_number=data.from_,
        to_number=data.to,
        # Twilio reports an arriving call as ringing; a call we place waits in its queue first.
        status="ringing" if data.direction == "inbound" else "queued",
        scenario=data.scenario,
        metadata=data.metadata,
        created_at=event.timestamp,
        last_seq=event.seq,
    ).insert()


async def call_ringing(event: EventEnvelope, _: CallRinging) -> None:
    await _advance(event, "ringing", answered=False)


async def call_answered(event: EventEnvelope, _: CallAnswered) -> None:
    await _advance(event, "in-progress", answered=True)


async def media_started(event: EventEnvelope, _: MediaStarted) -> None:
    # Media flows only on an answered call: an inbound call may never report call.answered.
    await _advance(event, "in-progress", answered=True)


async def call_transferred(event: EventEnvelope, data: CallTransferred) -> None:
    await _progress(event, {"transferred_to": data.target})


async def call_ended(event: EventEnvelope, data: CallEnded) -> None:
    await _progress(
        event,
        {
            "status": END_STATUS[data.reason],
            "ended_at": event.timestamp,
            "duration": data.duration,
            "end_reason": data.reason,
        },
    )


async def recorded(event: EventEnvelope, _: object) -> None:
    """Any other call event: kept in the call's pages (event list, transcript) and ``last_seq``."""
    await _progress(event, {})


_SPECIAL: Mapping[str, Handler] = {
    CallStarted.TYPE: call_started,
    CallRinging.TYPE: call_ringing,
    CallAnswered.TYPE: call_answered,
    MediaStarted.TYPE: media_started,
    CallTransferred.TYPE: call_transferred,
    CallEnded.TYPE: call_ended,
}

HANDLERS: Mapping[str, Handler] = {cls.TYPE: _SPECIAL.get(cls.TYPE, recorded) for cls in CALL_EVENTS}
