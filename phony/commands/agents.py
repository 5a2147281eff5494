"""Commands on the agent aggregate."""

from __future__ import annotations

from typing import Any, Literal

from phony.commands.base import Command
from phony.events.agents import AgentSettings


class CreateAgent(Command):
    type: Literal["agent.create"] = "agent.create"
    settings: AgentSettings


class UpdateAgent(Command):
    """``changes`` are validated request fields; ``replace`` (PUT) resets the others to defaults."""

    type: Literal["agent.update"] = "agent.update"
    changes: dict[str, Any]
    replace: bool = False


class DeleteAgent(Command):
    type: Literal["agent.delete"] = "agent.delete"
