"""Twilio's webhooks: ``/receive_call`` (inbound), ``/start_call`` (outbound answered) and
``/status_callback``. Each is signature-checked, rate-limited per Twilio account, and becomes a
command; the TwiML answer connects the call's audio to ``/media/ws``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from twilio.twiml.voice_response import VoiceResponse

from phony.commands.calls import AcceptInboundCall, UpdateCallStatus
from phony.edge.deps import Ctx
from phony.edge.errors import ApiError, responses
from phony.edge.ratelimit import hit
from phony.events.agents import AgentSettings
from phony.events.calls import UNROUTED_TENANT
from phony.projections import queries
from phony.projections.documents import AgentDoc
from phony.twiml import stream_twiml

# 400: a Twilio parameter missing; 413: a form over the body limit.
router = APIRouter(tags=["twilio"], responses=responses(400, 403, 413, 429, 503))

NO_AGENT_MESSAGE = "Sorry, this number is not in service. Goodbye."


def twiml(body: str) -> Response:
    return Response(content=body, media_type="application/xml")


async def _signed_form(request: Request, ctx: Ctx) -> dict[str, str]:
    form = {k: str(v) for k, v in (await request.form()).items()}
    if not ctx.signatures.valid(request, form):
        raise ApiError(403, "invalid Twilio signature")
    account = form.get("AccountSid", "unknown")
    await hit(ctx.redis, ctx.settings.topic_prefix, f"webhooks:{account}", ctx.settings.rate_webhooks_per_min)
    return form


def _required(form: dict[str, str], *names: str) -> None:
    missing = [n for n in names if not form.get(n)]
    if missing:
        raise ApiError(400, f"missing Twilio parameter {missing[0]}", details={"field": missing[0]})


async def _agent_for(number: str) -> AgentDoc | None:
    held = await queries.agents_with_number(number).all()
    doc = next((d for d in held if d.get("is_active") and not d.get("deleted")), None)
    return None if doc is None else AgentDoc.model_validate({**doc, "id": doc["_id"]})


def settings_of(agent: AgentDoc) -> AgentSettings:
    return AgentSettings.model_validate(agent.model_dump(include=set(AgentSettings.model_fields)))


@router.post("/receive_call", response_class=Response, responses={200: {"content": {"application/xml": {}}}})
async def receive_call(request: Request, ctx: Ctx) -> Response:
    """An inbound call: answer with ``<Connect><Stream>`` for the agent that owns the called number,
    or a polite ``<Say>`` and ``<Hangup/>`` when none does (recorded as ``error.occurred``)."""
    form = await _signed_form(request, ctx)
    _required(form, "CallSid", "From", "To")
    agent = await _agent_for(form["To"])
    command = AcceptInboundCall(
        tenant_id=agent.tenant_id if agent else UNROUTED_TENANT,
        aggregate_id=form["CallSid"],
        agent_id=agent.id if agent else None,
        agent=settings_of(agent) if agent else None,
        to=form["To"],
        **{"from": form["From"]},
    )
    await ctx.bus.send(command)
    if agent is None:
        response = VoiceResponse()
        response.say(NO_AGENT_MESSAGE)
        response.hangup()
        return twiml(str(response))
    params = {"tenant_id": agent.tenant_id, "agent_id": agent.id, "direction": "inbound"}
    if form.get("scenario"):
        params["scenario"] = form["scenario"]
    return twiml(stream_twiml(ctx.settings, params))


@router.post("/start_call", response_class=Response, responses={200: {"content": {"application/xml": {}}}})
async def start_call(request: Request, ctx: Ctx, scenario: str = "") -> Response:
    """An outbound call Phony placed was answered: connect it to the media socket."""
    form = await _signed_form(request, ctx)
    _required(form, "CallSid")
    params = {"direction": "outbound"}
    if scenario:
        params["scenario"] = scenario
    return twiml(stream_twiml(ctx.settings, params))


@router.post("/status_callback", status_code=204, response_class=Response)
async def status_callback(request: Request, ctx: Ctx) -> Response:
    """Call progress from Twilio (ringing, in-progress, completed, busy, no-answer, failed)."""
    form = await _signed_form(request, ctx)
    _required(form, "CallSid", "CallStatus")
    duration = form.get("CallDuration")
    sequence = form.get("SequenceNumber")
    # Twilio does not resend a status callback: it is carried out however late Kafka takes it.
    await ctx.bus.deliver(
        UpdateCallStatus(
            tenant_id="",
            aggregate_id=form["CallSid"],
            status=form["CallStatus"],
            duration=float(duration) if duration and duration.isdigit() else None,
            sequence=int(sequence) if sequence and sequence.isdigit() else None,
        )
    )
    return Response(status_code=204)
