"""Agent aggregate: decide (command -> events) and fold (event -> state)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from phony.commands.agents import CreateAgent, DeleteAgent, UpdateAgent
from phony.events import EventData
from phony.events.agents import AgentCreated, AgentDeleted, AgentSettings, AgentUpdated
from phony.workers.decisions import AggregateState, Decision, Refusal, not_found

AgentCommand = CreateAgent | UpdateAgent | DeleteAgent


@dataclass
class AgentState(AggregateState):
    settings: AgentSettings | None = None
    deleted: bool = False

    @property
    def routed_numbers(self) -> set[str]:
        """Numbers this agent answers (claimed against every other active agent)."""
        if self.settings is None or self.deleted or not self.settings.is_active:
            return set()
        return set(self.settings.phone_numbers)


def fold_agent(state: AgentState, data: EventData) -> None:
    """Apply one agent event to the state."""
    match data:
        case AgentCreated() | AgentUpdated():
            state.settings = data.settings
        case AgentDeleted():
            state.deleted = True


def routed_numbers(settings: AgentSettings) -> set[str]:
    """The numbers an agent with these settings would answer."""
    return set(settings.phone_numbers) if settings.is_active else set()


def decide_agent(state: AgentState, command: AgentCommand) -> Decision:
    """The events that follow from ``command`` given ``state``."""
    if isinstance(command, CreateAgent):
        if state.exists:
            raise Refusal("CONFLICT", 409, "agent already exists", id=command.aggregate_id)
        return [AgentCreated(settings=command.settings)]
    if not state.exists or state.deleted or state.tenant_id != command.tenant_id:
        # Another tenant's agent is indistinguishable from a missing one.
        raise not_found("agent", command.aggregate_id)
    assert state.settings is not None
    match command:
        case UpdateAgent():
            base = {} if command.replace else state.settings.model_dump()
            try:
                settings = AgentSettings.model_validate({**base, **command.changes})
            except ValidationError as exc:
                first = exc.errors()[0]
                raise Refusal(
                    "VALIDATION_ERROR",
                    422,
                    first["msg"],
                    field=".".join(str(p) for p in first["loc"]),
                    value=first.get("input"),
                ) from exc
            changed = sorted(
                k for k, v in settings.model_dump().items() if v != state.settings.model_dump()[k]
            )
            return [AgentUpdated(settings=settings, changed=changed)] if changed else []
        case DeleteAgent():
            return [AgentDeleted()]
    raise AssertionError(f"unhandled {command!r}")
