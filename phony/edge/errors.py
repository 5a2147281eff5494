"""The error envelope (SPEC §2) for every path: our own errors, FastAPI's validation, unknown routes,
wrong methods, refused commands, timeouts, dead dependencies and anything unexpected."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from phony.commands import CommandNotWritten, CommandParked, CommandRejected, CommandTimeout
from phony.edge.asgi import HttpMiddleware
from phony.edge.methods import allow_header

log = logging.getLogger(__name__)

BSON_INT_MAX = 2**63 - 1

CODES: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "UNAVAILABLE",
}


class ApiError(StarletteHTTPException):
    """An error answered with the envelope; raise it from any route, dependency or ``receive`` (an
    HTTP exception, so FastAPI passes it on from reading a body instead of turning it into a 400)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, message, headers)
        self.status = status
        self.code = code or CODES.get(status, "ERROR")
        self.message = message
        self.details = details or {}


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorEnvelope(BaseModel):
    """``{"error": {"code", "message", "details"}}``."""

    error: ErrorBody


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The one place the envelope is written; it never fails on what a client sent."""
    error = {"code": code or CODES.get(status, "ERROR"), "message": printable(message)}
    body = {"error": {**error, "details": _jsonable(details or {})}}
    return JSONResponse(body, status_code=status, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    # List positions are dropped: the seed names the field ("phone_numbers"), the value says which.
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header") and not isinstance(p, int)]
    return ".".join(parts) or "body"


def _jsonable(value: Any) -> Any:
    """``value`` as JSON can carry it: what a client sent is echoed in ``details`` even when JSON
    cannot hold it as it is (a lone surrogate, an infinite number)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {printable(str(k)): _jsonable(v) for k, v in value.items()}
    return printable(str(value))


def printable(text: str) -> str:
    """``text`` with what UTF-8 cannot encode (lone surrogates) written as ``\\udXXX`` escapes."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode()
    return text


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the error envelope for these statuses."""
    return {s: {"model": ErrorEnvelope, "description": CODES.get(s, "Error")} for s in statuses}


def install_error_handlers(app: FastAPI) -> None:
    """Route every failure through :func:`error_response`."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(
            exc.status, exc.message, code=exc.code, details=exc.details, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first: dict[str, Any] = (
            errors[0] if errors else {"loc": ("body",), "msg": "invalid request", "input": None}
        )
        if first.get("type") == "json_invalid":
            return error_response(400, "request body is not valid JSON", details={"field": "body"})
        listed = [
            {"field": _field(e["loc"]), "message": e["msg"], "value": _jsonable(e.get("input"))}
            for e in errors
        ]
        details = {"field": _field(first["loc"]), "value": _jsonable(first.get("input")), "errors": listed}
        return error_response(422, first["msg"], details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else CODES.get(exc.status_code, "error")
        headers = dict(exc.headers or {})
        if exc.status_code == 404 and message == "Not Found":
            message = "no such route"
        if exc.status_code == 405:  # FastAPI's Allow names one route's methods, not the path's
            headers["Allow"] = allow_header(request.scope)
            message = f"{request.method} is not served here"
            return error_response(405, message, details={"allow": headers["Allow"]}, headers=headers)
        return error_response(exc.status_code, message, headers=headers or None)

    @app.exception_handler(CommandRejected)
    async def _rejected(_: Request, exc: CommandRejected) -> JSONResponse:
        o = exc.outcome
        return error_response(o.http_status or 400, o.message or "rejected", code=o.code, details=o.details)

    @app.exception_handler(CommandTimeout)
    async def _timeout(_: Request, exc: CommandTimeout) -> JSONResponse:
        return error_response(
            503,
            "the request was accepted but its result was not stored in time; retry the read later",
            details={"command_id": str(exc)},
        )

    @app.exception_handler(CommandParked)
    async def _parked(_: Request, exc: CommandParked) -> JSONResponse:
        return error_response(
            503,
            "the request was carried out and is on the event log, but the read-model store refused to "
            "keep its result (the event is parked: phony parked lists it)",
            details={"command_id": exc.outcome.command_id, "id": exc.outcome.aggregate_id},
        )

    @app.exception_handler(CommandNotWritten)
    async def _not_written(_: Request, exc: CommandNotWritten) -> JSONResponse:
        log.warning("%s", exc)
        return error_response(
            503,
            "Kafka did not take the request in time; it was not carried out and may be retried",
            details={"dependency": "kafka", "command_id": exc.command_id},
            headers={"Retry-After": "1"},
        )

    async def _dependency(_: Request, exc: Exception) -> JSONResponse:
        log.warning("dependency failure: %s", exc)
        return error_response(503, "a dependency is unavailable", details={"dependency": _which(exc)})

    for kind in (PyMongoError, RedisError, KafkaError, ConnectionError):
        app.add_exception_handler(kind, _dependency)

    @app.exception_handler(OverflowError)
    async def _overflow(_: Request, exc: OverflowError) -> JSONResponse:
        # BSON refuses integers past 8 bytes, which only a client's number can be (an offset of
        # 2**63): the query schemas bound theirs, this is the net for any other.
        if "8-byte ints" not in str(exc):
            return _internal(exc)
        return error_response(
            422, "a number in the request is out of range", details={"maximum": BSON_INT_MAX}
        )

    # Starlette's last resort (what fails outside the routes); CatchAll answers what fails in them.
    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return _internal(exc)


def _internal(exc: BaseException) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return error_response(500, "internal error")


class CatchAll(HttpMiddleware):
    """ASGI middleware: an unexpected failure answers 500 in the envelope and the connection stays
    open. (Starlette's own last resort re-raises after answering, and uvicorn then drops the
    keep-alive connection: one bad request would cost the client its other requests on it.)"""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started or isinstance(exc, ApiError):  # an ApiError here is the body limit's
                raise
            await _internal(exc)(scope, receive, send)


def _which(exc: Exception) -> str:
    if isinstance(exc, PyMongoError):
        return "mongodb"
    if isinstance(exc, RedisError):
        return "redis"
    if isinstance(exc, KafkaError):
        return "kafka"
    return "unknown"
