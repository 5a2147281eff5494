"""Sending one request: the key, the timeout, retries with backoff, and errors as exceptions.

A request is tried again, at most ``max_retries`` times, only when it is idempotent (GET, PUT,
DELETE) and failed with 429 (after its ``Retry-After``), 503, a broken connection or a timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pydantic

from phony_client._options import ClientOptions
from phony_client._retry import RETRY_STATUSES, may_retry, retry_delay
from phony_client.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    PhonyError,
    RateLimitedError,
    from_response,
    retry_after_seconds,
)

log = logging.getLogger("phony_client")
M = TypeVar("M", bound=pydantic.BaseModel)
Params = dict[str, Any]


def path(template: str, *ids: str) -> str:
    """``template`` with each ``{}`` replaced by an id, percent-encoded (an id is one path segment)."""
    for value in ids:
        if not isinstance(value, str) or not value:
            raise ValueError(f"expected a non-empty id, got {value!r}")
    return template.format(*(quote(v, safe="") for v in ids))


def parse(model: type[M], response: httpx.Response) -> M:
    """The response body as ``model``; a body that does not fit is a :class:`PhonyError`."""
    try:
        return model.model_validate_json(response.content)
    except pydantic.ValidationError as exc:
        raise PhonyError(
            f"the answer to {response.request.method} {response.request.url.path} does not fit "
            f"{model.__name__}: {exc.error_count()} problem(s), first: {exc.errors()[0]['msg']}"
        ) from exc


def _transport_error(exc: httpx.TransportError, request: str) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"{request}: timed out ({type(exc).__name__})")
    return APIConnectionError(f"{request}: could not reach the server ({exc or type(exc).__name__})")


def _next_delay(method: str, attempt: int, error: PhonyError, max_retries: int) -> float | None:
    """Seconds before the next try of a request that failed with ``error``, or None: raise it."""
    if attempt >= max_retries or not may_retry(method):
        return None
    if isinstance(error, APIConnectionError):
        return retry_delay(attempt + 1, None)
    if isinstance(error, APIStatusError) and error.status in RETRY_STATUSES:
        after = error.retry_after if isinstance(error, RateLimitedError) else _retry_after(error)
        return retry_delay(attempt + 1, after)
    return None


def _retry_after(error: APIStatusError) -> float | None:
    return None if error.response is None else retry_after_seconds(error.response.headers)


class _Base:
    def __init__(self, options: ClientOptions) -> None:
        self.options = options

    def _request(
        self,
        method: str,
        url: str,
        params: Params | None,
        json: Any,
        client: httpx.Client | httpx.AsyncClient,
    ) -> httpx.Request:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        return client.build_request(
            method,
            self.options.base_url + url,
            params=clean or None,
            json=json,
            headers=self.options.headers(),
            timeout=self.options.timeout,
        )

    def _retrying(self, method: str, url: str, attempt: int, error: PhonyError) -> float | None:
        delay = _next_delay(method, attempt, error, self.options.max_retries)
        if delay is not None:
            log.info("%s %s failed (%s); retry %d in %.2f s", method, url, error, attempt + 1, delay)
        return delay


class SyncHttp(_Base):
    """Requests over one ``httpx.Client`` (shared by clients made with ``with_options``)."""

    def __init__(self, options: ClientOptions, client: httpx.Client) -> None:
        super().__init__(options)
        self.client = client

    def send(
        self, method: str, url: str, *, params: Params | None = None, json: Any = None, stream: bool = False
    ) -> httpx.Response:
        """The successful response (``stream``: its body not yet read; close it), else the error."""
        attempt = 0
        while True:
            request = self._request(method, url, params, json, self.client)
            error: PhonyError
            try:
                response = self.client.send(request, stream=stream)
            except httpx.TransportError as exc:
                error = _transport_error(exc, f"{method} {url}")
                error.__cause__ = exc
            else:
                if response.is_success:
                    return response
                response.read()
                response.close()
                error = from_response(response)
            delay = self._retrying(method, url, attempt, error)
            if delay is None:
                raise error
            time.sleep(delay)
            attempt += 1

    def get(self, model: type[M], url: str, params: Params | None = None) -> M:
        return parse(model, self.send("GET", url, params=params))

    def call(self, method: str, model: type[M], url: str, json: Any = None) -> M:
        return parse(model, self.send(method, url, json=json))


class AsyncHttp(_Base):
    """Requests over one ``httpx.AsyncClient``."""

    def __init__(self, options: ClientOptions, client: httpx.AsyncClient) -> None:
        super().__init__(options)
        self.client = client

    async def send(
        self, method: str, url: str, *, params: Params | None = None, json: Any = None, stream: bool = False
    ) -> httpx.Response:
        attempt = 0
        while True:
            request = self._request(method, url, params, json, self.client)
            error: PhonyError
            try:
                response = await self.client.send(request, stream=stream)
            except httpx.TransportError as exc:
                error = _transport_error(exc, f"{method} {url}")
                error.__cause__ = exc
            else:
                if response.is_success:
                    return response
                await response.aread()
                await response.aclose()
                error = from_response(response)
            delay = self._retrying(method, url, attempt, error)
            if delay is None:
                raise error
            await asyncio.sleep(delay)
            attempt += 1

    async def get(self, model: type[M], url: str, params: Params | None = None) -> M:
        return parse(model, await self.send("GET", url, params=params))

    async def call(self, method: str, model: type[M], url: str, json: Any = None) -> M:
        return parse(model, await self.send(method, url, json=json))
