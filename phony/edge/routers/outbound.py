"""``POST /calls/``: place an outbound call with an agent."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from phony.commands.calls import PlaceCall
from phony.edge.deps import CallsCaller, Ctx
from phony.edge.errors import BSON_INT_MAX, ApiError, responses
from phony.edge.routers.twilio_webhooks import settings_of
from phony.edge.schemas.common import Flag, JsonNumber, PhoneNumber
from phony.events import new_id
from phony.projections import queries
from phony.projections.documents import AgentDoc

router = APIRouter(prefix="/calls", tags=["calls"], responses=responses(401, 403, 429, 503))

# Call metadata is told to the model as "- key: value" lines and stored with the call: flat values
# only, as MongoDB (FerretDB) can store them: no key starting with "$" or holding "." or NUL, no
# array in an array, no integer past 8 bytes. (Anything else was accepted, then failed the read
# model's write, for good.)
MetaKey = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^$.\u0000][^.\u0000]*$")]
MetaScalar = (  # each as JSON has it: "0" is a string, not a number
    Annotated[str, StringConstraints(max_length=1000)]
    | Annotated[int, Field(ge=-BSON_INT_MAX - 1, le=BSON_INT_MAX), JsonNumber]
    | Annotated[float, JsonNumber]
    | Flag
    | None
)
MetaValue = MetaScalar | Annotated[list[MetaScalar], Field(max_length=50)]


def _keys_by_name(schema: dict[str, Any]) -> None:
    # pydantic writes key constraints as patternProperties; one pattern over every key name says the
    # same, and schema tools read it better (schemathesis took "0" for a key the pattern refuses).
    ((pattern, values),) = schema.pop("patternProperties").items()
    schema["propertyNames"] = {**schema.get("propertyNames", {}), "pattern": pattern}
    schema["additionalProperties"] = values


Metadata = Annotated[dict[MetaKey, MetaValue], Field(max_length=50, json_schema_extra=_keys_by_name)]


class CallCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: str
    to_number: PhoneNumber
    from_number: PhoneNumber | None = Field(None, description="Default: the agent's first number")
    scenario: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    metadata: Metadata = Field(default_factory=dict, description="Flat: key -> value or list of values")


class CallPlaced(BaseModel):
    call_sid: str
    status: Literal[
        "queued", "ringing", "in-progress", "completed", "busy", "no-answer", "failed", "canceled"
    ]


@router.post("/", status_code=status.HTTP_202_ACCEPTED, responses=responses(400, 404, 409, 422))
async def place_call(body: CallCreate, ctx: Ctx, caller: CallsCaller) -> CallPlaced:
    """Ask Twilio to dial ``to_number``; the agent talks when the callee answers. Returns once the
    call exists (Twilio accepted it and ``call.started`` is recorded)."""
    doc = await queries.agent(body.agent_id).first()
    if doc is None or doc["tenant_id"] != caller.tenant_id or doc["deleted"]:
        raise ApiError(404, "agent not found", details={"id": body.agent_id})
    agent = AgentDoc.model_validate({**doc, "id": doc["_id"]})
    if not agent.is_active:
        raise ApiError(409, "agent is not active", details={"field": "agent_id", "value": body.agent_id})
    from_number = body.from_number or (agent.phone_numbers[0] if agent.phone_numbers else None)
    if from_number is None:  # the request is well formed; the agent's state refuses it, as inactive does
        raise ApiError(
            409,
            "the agent has no phone number to call from: give from_number",
            details={"field": "from_number", "value": None},
        )
    outcome = await ctx.bus.execute(
        PlaceCall(
            tenant_id=caller.tenant_id,
            aggregate_id=new_id("req"),
            agent_id=agent.id,
            agent=settings_of(agent),
            to=body.to_number,
            **{"from": from_number},
            scenario=body.scenario,
            metadata=body.metadata,
        )
    )
    call = await queries.call(outcome.aggregate_id).first()
    return CallPlaced(call_sid=outcome.aggregate_id, status=call["status"] if call else "queued")
