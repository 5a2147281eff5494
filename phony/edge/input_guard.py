"""Input that no route can take, refused in one place before routing: text that is not Unicode and
numbers no type holds. Python's ``json`` reads ``"\\ud800"`` (a lone surrogate) into a ``str`` that
cannot be written back as UTF-8 (to Kafka, MongoDB, or the error that echoes it), and ``1e999`` into
``inf``; percent-escapes in a query string or path may be any bytes.

- a JSON body (``application/json``, ``application/*+json``) that is not JSON, or uses ``NaN`` /
  ``Infinity`` (not JSON either) → 400 ``BAD_REQUEST``;
- a string in it (a value or a key) with a lone surrogate, or a number out of range → 422
  ``VALIDATION_ERROR`` naming the field and the value;
- a query parameter or path whose percent-escapes are not UTF-8 → 422 naming the parameter.

A body that passes is handed on unchanged (the route parses it again: bodies are small, at most the
body limit, which counts them first).
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import Message, Receive, Scope, Send

from phony.edge.asgi import HttpMiddleware
from phony.edge.errors import ApiError, error_response

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            kind: bytes = value.split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or (
                kind.startswith(b"application/") and kind.endswith(b"+json")
            )
    return False


def _not_json(constant: str) -> float:
    raise ValueError(f"{constant} is not JSON")


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _invalid(field: str, value: object, message: str) -> ApiError:
    return ApiError(422, message, details={"field": field or "body", "value": value})


def check_value(document: Any) -> None:
    """Raise a 422 :class:`ApiError` for the first string in ``document`` that UTF-8 cannot encode or
    number that is not finite. (Iterative: a body may nest as deep as the parser allows.)"""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        field, value = stack.pop()
        if isinstance(value, str):
            if not _encodable(value):
                raise _invalid(field, value, "text is not valid Unicode (a lone surrogate)")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise _invalid(field, value, "number out of range")
        elif isinstance(value, list):
            stack.extend((field, item) for item in reversed(value))
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                name = f"{field}.{key}" if field else key
                if not _encodable(key):
                    raise _invalid(name, key, "field name is not valid Unicode (a lone surrogate)")
                stack.append((name, item))


def check_body(body: bytes) -> None:
    """400 for a body that is not JSON, 422 for JSON no route can take."""
    try:
        document = json.loads(body, parse_constant=_not_json)
    except (ValueError, RecursionError) as exc:  # decode errors, bad UTF-8, ints past 4300 digits
        raise ApiError(400, "request body is not valid JSON", details={"field": "body"}) from exc
    check_value(document)


def check_query(query_string: bytes) -> None:
    """422 for a query parameter whose name or value is not UTF-8 once unescaped."""
    if b"%" not in query_string and query_string.isascii():
        return
    for pair in query_string.split(b"&"):
        name, _, value = pair.partition(b"=")
        for part in (name, value):
            try:
                unquote_to_bytes(part.replace(b"+", b" ")).decode()
            except UnicodeDecodeError as exc:
                field = unquote_to_bytes(name).decode(errors="backslashreplace")
                raise _invalid(field, part.decode("latin-1"), "query parameter is not valid UTF-8") from exc


def check_path(raw_path: bytes) -> None:
    try:
        unquote_to_bytes(raw_path).decode()
    except UnicodeDecodeError as exc:
        raise _invalid("path", raw_path.decode("latin-1"), "path is not valid UTF-8") from exc


async def _read(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None  # the client went away
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class InputGuard(HttpMiddleware):
    """ASGI middleware refusing what the module documentation lists (inside the body limit)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            check_path(scope.get("raw_path") or scope["path"].encode())
            check_query(scope["query_string"])
        except ApiError as refused:
            await self._refuse(refused, scope, receive, send)
            return
        if scope["method"] not in _BODY_METHODS or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        body = await _read(receive)
        if body is None:
            return
        if body:
            try:
                check_body(body)
            except ApiError as refused:
                await self._refuse(refused, scope, receive, send)
                return
        await self.app(scope, _replay(body, receive), send)

    async def _refuse(self, refused: ApiError, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(refused.status, refused.message, details=refused.details)
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
