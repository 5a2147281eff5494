"""The events WebSocket part of the AsyncAPI document (``WS /events/ws``, phony.edge.routers.events_ws):
its query, its handshake headers, the public event messages and the codes it closes with."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from phony.edge.asyncapi.components import Components
from phony.edge.asyncapi.messages import event_messages
from phony.edge.asyncapi.parts import Part
from phony.edge.live.session import GOING_AWAY, INTERNAL_ERROR, POLICY_VIOLATION, TRY_AGAIN_LATER

SERVER = "edge"
PATH = "/events/ws"


class EventsQuery(BaseModel):
    """The query of ``/events/ws`` (every parameter optional)."""

    model_config = ConfigDict(title="EventsWebSocketQuery")

    callSid: str | None = Field(
        None, description="Stream this call only; else every call of the key's tenant"
    )
    since: int | None = Field(
        None,
        ge=0,
        description="With callSid: the stored events after this seq, then live (no gap, no duplicate)",
    )
    token: str | None = Field(None, description="The API key, for browsers (else the Authorization header)")


class Handshake(BaseModel):
    """The handshake's headers."""

    model_config = ConfigDict(title="EventsWebSocketHeaders")

    Authorization: str | None = Field(None, description="`Bearer <API key>` (or ?token=)")


# Every refusal comes after the handshake was accepted, as a close frame with a reason: browsers see
# no HTTP status for a refused handshake.
CLOSE_CODES: tuple[tuple[int, str, str], ...] = (
    (
        POLICY_VIOLATION,
        "policy violation",
        "missing, unknown, revoked or expired key, or a suspended tenant (keys are re-checked while the "
        "socket is open, every PHONY_WS_AUTH_RECHECK_S); `call not found` (unknown, or another "
        "tenant's); bad query parameters; more open sockets than the key may hold (PHONY_WS_MAX_PER_KEY "
        "or the tenant's limits.websockets, across all edge processes)",
    ),
    (
        TRY_AGAIN_LATER,
        "try again later",
        "the client fell over PHONY_WS_QUEUE_SIZE events behind: reconnect with since=<last seq received>",
    ),
    (INTERNAL_ERROR, "internal error", "the event stream or the store failed: reconnect with since="),
    (GOING_AWAY, "going away", "the server is shutting down"),
)


def websocket_part(components: Components) -> Part:
    """The events WebSocket's channel and the operation that streams to it."""
    part = Part()
    codes = "\n".join(f"- {code} {name}: {when}" for code, name, when in CLOSE_CODES)
    part.channel(
        "eventsWebSocket",
        {
            "address": PATH,
            "title": f"WS {PATH}",
            "description": (
                "Live call events of the key's tenant, or of one call (`?callSid=`), one JSON text message "
                "per event in its public envelope, each call's events in seq order. With `since=`, the "
                "stored events after that seq come first. The handshake is always accepted; a refusal is "
                f"a close frame whose reason says why.\n\nClose codes:\n{codes}"
            ),
            "servers": [{"$ref": f"#/servers/{SERVER}"}],
            "bindings": {
                "ws": {
                    "method": "GET",
                    "query": EventsQuery.model_json_schema(),
                    "headers": Handshake.model_json_schema(),
                    "bindingVersion": "0.1.0",
                }
            },
            "x-close-codes": [{"code": code, "name": name, "when": when} for code, name, when in CLOSE_CODES],
        },
        event_messages(components, public=True),
    )
    part.operation(
        "streamEvents",
        "send",
        "eventsWebSocket",
        summary="The edge streams each call event to the subscribed clients",
        security=[
            {"$ref": "#/components/securitySchemes/bearer"},
            {"$ref": "#/components/securitySchemes/token"},
        ],
    )
    return part
