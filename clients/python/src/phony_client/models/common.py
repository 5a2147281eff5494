"""``/healthz`` and the error envelope."""

from __future__ import annotations

from typing import Any, Literal

from phony_client.models._base import ResponseModel


class Health(ResponseModel):
    status: Literal["ok", "degraded"] | str
    uptime: int
    activeCalls: int | None
    dependencies: dict[str, str]


class ErrorBody(ResponseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorEnvelope(ResponseModel):
    """``{"error": {"code", "message", "details"}}``: every error the server answers."""

    error: ErrorBody
