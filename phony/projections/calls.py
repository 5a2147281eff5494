"""Projects call events into ``calls`` (one small document per call: status, parties, timestamps); the
projector keeps every event's copy beside it (``stored_events``), from which the event list and the
transcript are read.

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
    ClarificationAnswered,
    ClarificationRequested,
    EndReason,
    MediaStarted,
    ResponseApproved,
    ResponsePendingApproval,
)
from phony.projections import queries
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


async def _progress(
    event: EventEnvelope,
    changes: Mapping[str, Any],
    *,
    add: tuple[str, str] | None = None,
    remove: tuple[str, str] | None = None,
) -> None:
    """Set ``last_seq`` and ``changes`` on the call, and ``add`` a value to (or ``remove`` one from) a
    list field: absolute values and set operations by ``_id``, so re-applying is harmless."""
    update: dict[str, Any] = {"$set": {"last_seq": event.seq, **changes}}
    if add is not None:
        update["$addToSet"] = {add[0]: add[1]}
    if remove is not None:
        update["$pull"] = {remove[0]: remove[1]}
    await CallDoc.get_pymongo_collection().update_one({"_id": event.aggregate_id}, update)


async def _advance(event: EventEnvelope, status: str, *, answered: bool) -> None:
    """Move the call to ``status`` unless it is already there or further; note when it was answered.

    Reading before writing is safe: one projector applies a call's events one at a time, in order.
    """
    current = await queries.call(event.aggregate_id, "status", "answered_at").first()
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
            "awaiting_approval": [],
            "open_question": None,
        },
    )


async def response_pending_approval(event: EventEnvelope, data: ResponsePendingApproval) -> None:
    await _progress(event, {}, add=("awaiting_approval", data.response_id))


async def response_approved(event: EventEnvelope, data: ResponseApproved) -> None:
    await _progress(event, {}, remove=("awaiting_approval", data.response_id))


async def clarification_requested(event: EventEnvelope, data: ClarificationRequested) -> None:
    await _progress(event, {"open_question": data.question})


async def clarification_answered(event: EventEnvelope, _: ClarificationAnswered) -> None:
    await _progress(event, {"open_question": None})


async def recorded(event: EventEnvelope, _: object) -> None:
    """Any other call event: only ``last_seq`` (its stored copy is the event list and transcript)."""
    await _progress(event, {})


_SPECIAL: Mapping[str, Handler] = {
    CallStarted.TYPE: call_started,
    CallRinging.TYPE: call_ringing,
    CallAnswered.TYPE: call_answered,
    MediaStarted.TYPE: media_started,
    CallTransferred.TYPE: call_transferred,
    CallEnded.TYPE: call_ended,
    ResponsePendingApproval.TYPE: response_pending_approval,
    ResponseApproved.TYPE: response_approved,
    ClarificationRequested.TYPE: clarification_requested,
    ClarificationAnswered.TYPE: clarification_answered,
}

HANDLERS: Mapping[str, Handler] = {cls.TYPE: _SPECIAL.get(cls.TYPE, recorded) for cls in CALL_EVENTS}
