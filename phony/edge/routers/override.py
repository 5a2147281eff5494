"""``/override/``: supervisor controls on a live call. Each answers once its command is durably on
Kafka; the call's worker carries it out and records it as events."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from phony import logs
from phony.commands.base import Command
from phony.commands.calls import (
    AnswerClarification,
    ApproveResponse,
    EndCall,
    SendDigits,
    SendText,
    TransferCall,
)
from phony.edge.auth import Principal, bearer, tenant_for_key
from phony.edge.deps import AuthHeader, Ctx, count_request
from phony.edge.errors import ApiError, responses
from phony.edge.schemas.common import PhoneNumber, SpokenText
from phony.projections import queries

router = APIRouter(prefix="/override", tags=["supervisor"], responses=responses(401, 403, 404, 422, 429, 503))

Text = SpokenText


class _CallRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    callSid: str


class TextOverride(_CallRef):
    text: Text


class TransferOverride(_CallRef):
    target: PhoneNumber


class DtmfOverride(_CallRef):
    digits: str = Field(pattern=r"^[0-9*#wW]{1,32}$")


class EndOverride(_CallRef):
    pass


class ClarificationOverride(_CallRef):
    response: Text


class ApproveOverride(_CallRef):
    response_id: str
    text: Text | None = None


class OverrideResult(BaseModel):
    success: bool
    message: str


async def _caller_and_call(
    ctx: Ctx, authorization: str | None, call_sid: str
) -> tuple[Principal, dict[str, Any] | None]:
    """Who is asking and the call they name, read at once (neither read needs the other): a
    supervisor's override is latency-critical. A refused key is refused before anything else."""
    principal, doc = await asyncio.gather(
        tenant_for_key(bearer(authorization), ctx.keys),
        queries.call(call_sid).first(),
        return_exceptions=True,
    )
    for outcome in (principal, doc):
        if isinstance(outcome, BaseException):
            raise outcome
    assert isinstance(principal, Principal)
    assert doc is None or isinstance(doc, dict)
    return principal, doc


async def _send(
    ctx: Ctx,
    authorization: str | None,
    call_sid: str,
    command: Callable[[str], Command],
    message: str,
    check: Callable[[dict[str, Any]], bool] | None = None,
) -> OverrideResult:
    """Send ``command(tenant_id)`` to a live call of the caller's tenant. With a ``check`` (is there
    something to answer or approve?), a call whose projection says yes gets the command at once; one
    whose projection says no may only lag the log (the AI has just asked), so the worker, which holds
    the call's state, decides: the request waits for its answer, 409 ``CONFLICT`` if it refuses.
    Refusals come in the order of every other route: 401/403, 429, then 404 and 409."""
    principal, call = await _caller_and_call(ctx, authorization, call_sid)
    logs.bind(call_sid=call_sid, tenant_id=principal.tenant_id)  # this request's lines
    await count_request(ctx, principal, "calls")
    if call is None or call["tenant_id"] != principal.tenant_id:
        raise ApiError(404, "call not found", details={"callSid": call_sid})
    if call.get("ended_at") is not None:
        raise ApiError(404, "call has ended", details={"callSid": call_sid, "status": call.get("status")})
    if check is not None and not check(call):
        await ctx.bus.execute(command(principal.tenant_id))
        return OverrideResult(success=True, message=message)
    await ctx.bus.send(command(principal.tenant_id))
    return OverrideResult(success=True, message=message)


def _asked(call: dict[str, Any]) -> bool:
    return call.get("open_question") is not None


def _held(response_id: str) -> Callable[[dict[str, Any]], bool]:
    def check(call: dict[str, Any]) -> bool:
        return response_id in (call.get("awaiting_approval") or [])

    return check


@router.post("/text")
async def send_text(body: TextOverride, ctx: Ctx, authorization: AuthHeader = None) -> OverrideResult:
    """Speak ``text`` to the caller, word for word, interrupting the AI."""

    def command(tenant_id: str) -> Command:
        return SendText(tenant_id=tenant_id, aggregate_id=body.callSid, text=body.text)

    return await _send(ctx, authorization, body.callSid, command, "Text sent successfully")


@router.post("/transfer")
async def transfer(body: TransferOverride, ctx: Ctx, authorization: AuthHeader = None) -> OverrideResult:
    """Transfer the caller to ``target`` (any E.164 number: the allowlist binds the AI, not you)."""

    def command(tenant_id: str) -> Command:
        return TransferCall(tenant_id=tenant_id, aggregate_id=body.callSid, target=body.target)

    return await _send(ctx, authorization, body.callSid, command, "Call transferred successfully")


@router.post("/dtmf")
async def dtmf(body: DtmfOverride, ctx: Ctx, authorization: AuthHeader = None) -> OverrideResult:
    """Send DTMF digits on the line."""

    def command(tenant_id: str) -> Command:
        return SendDigits(tenant_id=tenant_id, aggregate_id=body.callSid, digits=body.digits)

    return await _send(ctx, authorization, body.callSid, command, "Digits sent successfully")


@router.post("/end")
async def end(body: EndOverride, ctx: Ctx, authorization: AuthHeader = None) -> OverrideResult:
    """Hang up the call."""

    def command(tenant_id: str) -> Command:
        return EndCall(tenant_id=tenant_id, aggregate_id=body.callSid)

    return await _send(ctx, authorization, body.callSid, command, "Call ended successfully")


@router.post("/clarification", responses=responses(409))
async def clarification(
    body: ClarificationOverride, ctx: Ctx, authorization: AuthHeader = None
) -> OverrideResult:
    """Answer the AI's ``request_user`` question; the AI goes on with the answer."""

    def command(tenant_id: str) -> Command:
        return AnswerClarification(tenant_id=tenant_id, aggregate_id=body.callSid, response=body.response)

    return await _send(ctx, authorization, body.callSid, command, "Clarification sent successfully", _asked)


@router.post("/approve", responses=responses(409))
async def approve(body: ApproveOverride, ctx: Ctx, authorization: AuthHeader = None) -> OverrideResult:
    """Release a reply held for approval (``text`` replaces it with your words)."""

    def command(tenant_id: str) -> Command:
        return ApproveResponse(
            tenant_id=tenant_id, aggregate_id=body.callSid, response_id=body.response_id, text=body.text
        )

    held = _held(body.response_id)
    return await _send(ctx, authorization, body.callSid, command, "Response approved", held)
