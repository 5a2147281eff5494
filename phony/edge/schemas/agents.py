"""Request and response bodies of ``/agents/``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from phony.edge.schemas.common import Flag, JsonNumber, Name, PhoneNumbers, PhonePrefixes

Voice = Literal["alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"]
Prompt = Annotated[str, StringConstraints(max_length=20_000)]
ModelName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]
Greeting = Annotated[str, StringConstraints(max_length=2_000)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]
Temperature = Annotated[float, Field(ge=0, le=2), JsonNumber]
MaxTokens = Annotated[int, Field(ge=1, le=4096), JsonNumber]

DEFAULT_PROMPT = "You are a helpful voice assistant on a phone call. Keep answers short."


class AgentCreate(BaseModel):
    """An agent as created (POST) or replaced (PUT); omitted fields take these defaults."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    system_prompt: Prompt = DEFAULT_PROMPT
    voice: Voice = "alloy"
    model: ModelName = "gpt-realtime"
    greeting_message: Greeting | None = None
    phone_numbers: PhoneNumbers = Field(default_factory=list, max_length=50)
    is_active: Flag = True
    temperature: Temperature = 0.8
    max_tokens: MaxTokens | None = None
    supported_languages: list[Language] = Field(default_factory=list, max_length=20)
    language_detection: Flag = False
    transfer_allowlist: PhonePrefixes = Field(
        default_factory=list, max_length=50, description="E.164 numbers or prefixes the AI may transfer to"
    )
    require_approval: Flag = False


class AgentPatch(BaseModel):
    """Fields to change; those omitted stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    system_prompt: Prompt | None = None
    voice: Voice | None = None
    model: ModelName | None = None
    greeting_message: Greeting | None = None
    phone_numbers: PhoneNumbers | None = Field(None, max_length=50)
    is_active: Flag | None = None
    temperature: Temperature | None = None
    max_tokens: MaxTokens | None = None
    supported_languages: list[Language] | None = Field(None, max_length=20)
    language_detection: Flag | None = None
    transfer_allowlist: PhonePrefixes | None = Field(None, max_length=50)
    require_approval: Flag | None = None

    def changes(self) -> dict[str, Any]:
        """The fields the client sent (``null`` only where the field may be null)."""
        sent = self.model_dump(exclude_unset=True)
        nullable = {"greeting_message", "max_tokens"}
        return {k: v for k, v in sent.items() if v is not None or k in nullable}


class AgentOut(BaseModel):
    id: str
    tenant_id: str
    name: str
    system_prompt: str
    voice: str
    model: str
    greeting_message: str | None
    phone_numbers: list[str]
    is_active: bool
    temperature: float
    max_tokens: int | None
    supported_languages: list[str]
    language_detection: bool
    transfer_allowlist: list[str]
    require_approval: bool
    created_at: datetime
    updated_at: datetime


class AgentList(BaseModel):
    agents: list[AgentOut]
    total: int
    limit: int
    offset: int
