"""Facts about agents (one aggregate per agent, keyed by ``agent_id``)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from phony.events.base import EventData
from phony.events.envelope import AggregateType

E164 = Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{1,14}$")]
E164Prefix = Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{0,14}$")]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]


class AgentSettings(BaseModel):
    """Everything an agent is configured with (SPEC §3); events carry it whole."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    system_prompt: str
    voice: str
    model: str
    greeting_message: str | None = None
    phone_numbers: list[E164] = Field(default_factory=list)
    is_active: bool = True
    temperature: float = 0.8
    max_tokens: int | None = None
    supported_languages: list[LanguageCode] = Field(default_factory=list)
    language_detection: bool = False
    transfer_allowlist: list[E164Prefix] = Field(default_factory=list)
    require_approval: bool = False


class _AgentEvent(EventData):
    AGGREGATE: ClassVar[AggregateType] = "agent"


class AgentCreated(_AgentEvent):
    """v2 added ``transfer_allowlist`` and ``require_approval`` (v1 is the seed's agent)."""

    TYPE: ClassVar[str] = "agent.created"
    VERSION: ClassVar[int] = 2
    settings: AgentSettings


class AgentUpdated(_AgentEvent):
    """The agent's whole settings after the change, and which fields changed."""

    TYPE: ClassVar[str] = "agent.updated"
    settings: AgentSettings
    changed: list[str]


class AgentDeleted(_AgentEvent):
    TYPE: ClassVar[str] = "agent.deleted"
