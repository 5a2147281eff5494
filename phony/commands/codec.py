"""The command union (discriminated on ``type``) and its wire form."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from phony.commands.agents import CreateAgent, DeleteAgent, UpdateAgent
from phony.commands.calls import CALL_COMMANDS_UNION
from phony.commands.tenants import CreateTenant, IssueApiKey, RevokeApiKey, UpdateTenant

AnyCommand = Annotated[
    CreateTenant
    | UpdateTenant
    | IssueApiKey
    | RevokeApiKey
    | CreateAgent
    | UpdateAgent
    | DeleteAgent
    | CALL_COMMANDS_UNION,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[AnyCommand] = TypeAdapter(AnyCommand)


def decode_command(raw: bytes) -> AnyCommand:
    """A command from its JSON wire form (raises ``pydantic.ValidationError`` on bad input)."""
    return _ADAPTER.validate_json(raw)
