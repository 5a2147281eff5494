"""``GET /calls/...``: a tenant's calls, each call's transcript, event log and audio.

(``POST /calls/``, placing a call, lives with the write side in ``outbound``.)
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from phony import recordings
from phony.edge.deps import CallsCaller, CallsLinkCaller, Ctx
from phony.edge.errors import BSON_INT_MAX, ApiError, responses
from phony.edge.schemas.calls import CallEvents, CallList, CallOut, CallStatus, PublicEvent, Transcript
from phony.edge.schemas.common import Instant, Offset
from phony.events.calls import Direction
from phony.projections import queries
from phony.projections.stored_events import read_events
from phony.projections.transcript import transcript

router = APIRouter(prefix="/calls", tags=["calls"], responses=responses(401, 403, 429, 503))

WAV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"audio/wav": {}}, "description": "16-bit PCM WAV, 8 kHz"}
}


def _out(doc: dict[str, Any]) -> CallOut:
    return CallOut.model_validate(
        {**doc, "call_sid": doc["_id"], "from": doc["from_number"], "to": doc["to_number"]}
    )


async def _load(tenant_id: str, call_sid: str) -> dict[str, Any]:
    # Another tenant's call is as unknown as none.
    doc = await queries.call(call_sid).first()
    if doc is None or doc["tenant_id"] != tenant_id:
        raise ApiError(404, "call not found", details={"call_sid": call_sid})
    found: dict[str, Any] = doc
    return found


@router.get("/", responses=responses(422))
async def list_calls(
    caller: CallsCaller,
    status: CallStatus | None = None,
    agent_id: str | None = None,
    direction: Direction | None = None,
    created_since: Instant | None = Query(
        None, description="Only calls created at or after this time (RFC 3339 with an offset, or a date)"
    ),
    created_before: Instant | None = Query(
        None, description="Only calls created before this time (RFC 3339 with an offset, or a date)"
    ),
    limit: int = Query(10, ge=1, le=100),
    offset: Offset = 0,
) -> CallList:
    """The tenant's calls, newest first, optionally only those with a status, agent or direction,
    or created in a span of time."""
    query = queries.calls_of(
        caller.tenant_id,
        status=status,
        agent_id=agent_id,
        direction=direction,
        created_since=created_since,
        created_before=created_before,
    )
    total, docs = await asyncio.gather(query.count(), query.page(offset, limit))
    return CallList(calls=[_out(d) for d in docs], total=total, limit=limit, offset=offset)


@router.get("/{call_sid}", responses=responses(404))
async def get_call(call_sid: str, caller: CallsCaller) -> CallOut:
    """Status, parties, agent, timestamps, duration and end reason of one call."""
    return _out(await _load(caller.tenant_id, call_sid))


@router.get("/{call_sid}/transcript", responses=responses(404))
async def get_transcript(call_sid: str, caller: CallsCaller) -> Transcript:
    """What the caller, the AI and the supervisor said, in order (AI lines link their audio)."""
    doc = await _load(caller.tenant_id, call_sid)
    events = await read_events(call_sid, 0, doc["last_seq"])
    return Transcript(call_sid=call_sid, entries=transcript(events))


@router.get("/{call_sid}/events", responses=responses(404, 422))
async def get_events(
    call_sid: str,
    caller: CallsCaller,
    since: int = Query(0, ge=0, le=BSON_INT_MAX, description="Only events with a greater seq"),
) -> CallEvents:
    """The call's event log in seq order, for audit or to catch up before ``/events/ws?since=``."""
    doc = await _load(caller.tenant_id, call_sid)
    events = await read_events(call_sid, since, doc["last_seq"])
    return CallEvents(call_sid=call_sid, events=[PublicEvent.model_validate(e.public()) for e in events])


@router.get("/{call_sid}/recording", response_class=Response, responses={**WAV, **responses(404)})
async def get_recording(call_sid: str, ctx: Ctx, caller: CallsLinkCaller) -> Response:
    """The whole call as a stereo WAV file: the caller on the left channel, the AI on the right."""
    await _load(caller.tenant_id, call_sid)
    segments = await recordings.load_call(ctx.mongo[ctx.settings.mongodb_db], call_sid)
    if not segments:
        raise ApiError(404, "no audio recorded for this call", details={"call_sid": call_sid})
    # Seconds of pure-Python sample work for a long call: keep it off the event loop.
    wav = await run_in_threadpool(recordings.stereo_wav, segments)
    return _wav(wav, f"{call_sid}.wav")


@router.get(
    "/{call_sid}/responses/{response_id}/audio",
    response_class=Response,
    responses={**WAV, **responses(404)},
)
async def get_response_audio(call_sid: str, response_id: str, ctx: Ctx, caller: CallsLinkCaller) -> Response:
    """What the AI said in one response (the ``audio_url`` of its ``ai.response``), as a mono WAV."""
    await _load(caller.tenant_id, call_sid)
    segment = await recordings.load_response(ctx.mongo[ctx.settings.mongodb_db], call_sid, response_id)
    if segment is None:
        raise ApiError(404, "no audio for this response", details={"response_id": response_id})
    wav = await run_in_threadpool(recordings.mono_wav, segment.audio)
    return _wav(wav, f"{call_sid}-{response_id}.wav")


def _wav(body: bytes, filename: str) -> Response:
    return Response(
        body, media_type="audio/wav", headers={"Content-Disposition": f'inline; filename="{filename}"'}
    )
