"""Bodies of ``/agents/``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from phony_client.models._base import RequestModel, ResponseModel

Voice = Literal["alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"]


class AgentCreate(RequestModel):
    """``POST /agents/`` and ``PUT /agents/{id}``: fields left out take the server's defaults."""

    name: str
    system_prompt: str | None = None
    voice: Voice | str | None = None
    model: str | None = None
    greeting_message: str | None = None
    phone_numbers: list[str] | None = None
    is_active: bool | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    supported_languages: list[str] | None = None
    language_detection: bool | None = None
    transfer_allowlist: list[str] | None = None
    require_approval: bool | None = None


class AgentUpdate(RequestModel):
    """``PATCH /agents/{id}``: only the fields set are changed."""

    name: str | None = None
    system_prompt: str | None = None
    voice: Voice | str | None = None
    model: str | None = None
    greeting_message: str | None = None
    phone_numbers: list[str] | None = None
    is_active: bool | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    supported_languages: list[str] | None = None
    language_detection: bool | None = None
    transfer_allowlist: list[str] | None = None
    require_approval: bool | None = None


class AgentSettings(ResponseModel):
    """An agent's settings as a ``call.started`` event carries them (the prompt the call used)."""

    name: str
    system_prompt: str
    voice: str
    model: str
    greeting_message: str | None = None
    phone_numbers: list[str] = []
    is_active: bool = True
    temperature: float = 0.8
    max_tokens: int | None = None
    supported_languages: list[str] = []
    language_detection: bool = False
    transfer_allowlist: list[str] = []
    require_approval: bool = False


class Agent(ResponseModel):
    """An agent as the API returns it."""

    id: str
    tenant_id: str
    name: str
    system_prompt: str
    voice: Voice | str
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


class AgentList(ResponseModel):
    """``GET /agents/``: one page."""

    agents: list[Agent]
    total: int
    limit: int
    offset: int
