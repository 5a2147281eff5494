"""What can go wrong, as exceptions. Every error the server answers carries its envelope
``{"error": {"code", "message", "details"}}``: ``status``, ``code``, ``message`` and ``details``.

``PhonyError``
├── ``APIStatusError`` (the server answered with an error status)
│   ├── ``ValidationError`` (400, 413, 422)
│   ├── ``AuthenticationError`` (401)
│   ├── ``PermissionDeniedError`` (403)
│   ├── ``NotFoundError`` (404)
│   ├── ``ConflictError`` (409)
│   ├── ``RateLimitedError`` (429, with ``retry_after``)
│   ├── ``InternalServerError`` (500 and other 5xx)
│   └── ``UnavailableError`` (503)
└── ``APIConnectionError`` (no answer: refused, reset, DNS; the stream could not reconnect)
    └── ``APITimeoutError``
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "PhonyError",
    "RateLimitedError",
    "UnavailableError",
    "ValidationError",
]


class PhonyError(Exception):
    """The base of every error this package raises."""

    status: int | None
    code: str | None
    message: str
    details: dict[str, Any]

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details or {}

    def __str__(self) -> str:
        if self.status is None:
            return self.message
        return f"{self.status} {self.code or 'ERROR'}: {self.message}"


class APIStatusError(PhonyError):
    """The server answered with an error status (``response`` is that answer)."""

    status: int
    response: httpx.Response | None

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code, details=details)
        self.status = status
        self.response = response


class ValidationError(APIStatusError):
    """The request was refused as malformed (400), too large (413) or invalid (422); ``details``
    name the field and value."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, unknown, revoked or expired."""


class PermissionDeniedError(APIStatusError):
    """403: the key is good but may not do this (a suspended tenant, a tenant key on operator routes)."""


class NotFoundError(APIStatusError):
    """404: no such resource for this key (another tenant's ids are as unknown as none)."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the current state (a phone number in use, nothing to approve)."""


class RateLimitedError(APIStatusError):
    """429: the key's per-minute limit is used up; ``retry_after`` is how many seconds to wait."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 429,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        response: httpx.Response | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code, details=details, response=response)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """A 5xx other than 503: the server failed."""


class UnavailableError(APIStatusError):
    """503: a dependency of the server (Kafka, MongoDB, Redis) is down; retry later."""


class APIConnectionError(PhonyError):
    """The server could not be reached, or the connection broke before an answer."""


class APITimeoutError(APIConnectionError):
    """The server did not answer within the timeout."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: ValidationError,
    422: ValidationError,
    429: RateLimitedError,
    503: UnavailableError,
}


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """``Retry-After`` in seconds (a number of seconds; an HTTP date is not used by Phony)."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def error_class(status: int) -> type[APIStatusError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return InternalServerError if status >= 500 else APIStatusError


def status_error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: dict[str, Any] | None = None,
    response: httpx.Response | None = None,
    retry_after: float | None = None,
) -> APIStatusError:
    """The exception for an error answer with this status and envelope."""
    cls = error_class(status)
    if cls is RateLimitedError:
        return RateLimitedError(
            message, status=status, code=code, details=details, response=response, retry_after=retry_after
        )
    return cls(message, status=status, code=code, details=details, response=response)


def from_response(response: httpx.Response) -> APIStatusError:
    """The exception for an error response: its envelope when it has one, else its status and text
    (a proxy's HTML page, say)."""
    code: str | None = None
    details: dict[str, Any] = {}
    message = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    try:
        body = response.json()
    except ValueError:  # not JSON (JSONDecodeError and UnicodeDecodeError are ValueErrors)
        body = None
        if response.text.strip():
            message = f"{message}: {response.text.strip()[:200]}"
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        message = str(error.get("message") or message)
        code = str(error["code"]) if error.get("code") is not None else None
        if isinstance(error.get("details"), dict):
            details = error["details"]
    retry_after = retry_after_seconds(response.headers)
    if retry_after is None and isinstance(details.get("retry_after"), int | float):
        retry_after = float(details["retry_after"])
    return status_error(
        response.status_code,
        message,
        code=code,
        details=details,
        response=response,
        retry_after=retry_after,
    )
