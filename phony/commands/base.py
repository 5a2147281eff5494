"""What every command carries, and the outcome a waiting caller is told."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from phony.events.envelope import new_id, utcnow


class Command(BaseModel):
    """A request to change one aggregate; keyed on Kafka by ``aggregate_id`` so one worker owns it."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(default_factory=lambda: new_id("cmd"))
    tenant_id: str
    aggregate_id: str
    issued_at: datetime = Field(default_factory=utcnow)
    # Set by a sender that answers someone within a bound (a REST write, an override): a record of
    # this command appended later than this was answered as failed, so it is never carried out (see
    # phony.commands.expiry). None for commands that must be carried out however late they arrive.
    append_by: datetime | None = None


class CommandOutcome(BaseModel):
    """Published on Redis once a command's last event is projected (``applied``), the worker refused
    it (``rejected``, with the error the REST caller should get), or the read-model store refused its
    event (``parked``: it happened, its result is not readable)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command_id: str
    status: Literal["applied", "rejected", "parked"]
    aggregate_id: str
    code: str | None = None
    http_status: int | None = None
    message: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
