"""What deciders return: the events that follow from a command, or a refusal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from phony.commands import Command, CommandOutcome
from phony.events import EventData


class Refusal(Exception):
    """A command that cannot be applied; becomes the REST caller's error."""

    def __init__(self, code: str, http_status: int, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.message = message
        self.details = details


def rejected(command: Command, refusal: Refusal) -> CommandOutcome:
    """The outcome that tells the waiting REST call why ``command`` was refused."""
    return CommandOutcome(
        command_id=command.id,
        status="rejected",
        aggregate_id=command.aggregate_id,
        code=refusal.code,
        http_status=refusal.http_status,
        message=refusal.message,
        details=refusal.details,
    )


def not_found(what: str, ident: str) -> Refusal:
    return Refusal("NOT_FOUND", 404, f"{what} not found", id=ident)


@dataclass
class AggregateState:
    """What every aggregate's state has: the last ``seq`` and the commands already applied."""

    seq: int = 0
    tenant_id: str = ""
    commands: set[str] = field(default_factory=set)
    updated_at: datetime | None = None  # timestamp of the last event folded

    @property
    def exists(self) -> bool:
        return self.seq > 0


Decision = list[EventData]
