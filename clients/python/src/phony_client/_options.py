"""A client's settings: where the server is, the key, timeouts and retries (env defaults)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

import httpx

from phony_client._types import NotGiven, given
from phony_client._version import __version__
from phony_client.errors import PhonyError

DEFAULT_BASE_URL = "http://localhost:24187"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
USER_AGENT = f"phony-client-python/{__version__}"

Timeout = float | httpx.Timeout | None


@dataclass(frozen=True)
class ClientOptions:
    base_url: str
    api_key: str
    timeout: httpx.Timeout
    max_retries: int
    default_headers: dict[str, str]

    @classmethod
    def resolve(
        cls,
        base_url: str | None,
        api_key: str | None,
        timeout: Timeout | NotGiven,
        max_retries: int,
        default_headers: dict[str, str] | None,
    ) -> ClientOptions:
        """Arguments first, then ``PHONY_BASE_URL`` / ``PHONY_API_KEY``, then the defaults."""
        key = api_key if api_key is not None else os.environ.get("PHONY_API_KEY")
        if not key:
            raise PhonyError("no API key: pass api_key= or set PHONY_API_KEY")
        url = base_url or os.environ.get("PHONY_BASE_URL") or DEFAULT_BASE_URL
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        return cls(
            base_url=url.rstrip("/"),
            api_key=key,
            timeout=as_timeout(timeout),
            max_retries=max_retries,
            default_headers=dict(default_headers or {}),
        )

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.api_key}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            **self.default_headers,
        }

    def copy_with(self, **changes: Any) -> ClientOptions:
        """These options with the given changes (``NOT_GIVEN`` ones left as they are)."""
        changes = given(**changes)
        if "timeout" in changes:
            changes["timeout"] = as_timeout(changes["timeout"])
        return replace(self, **changes)

    @property
    def ws_base_url(self) -> str:
        """``base_url`` with ``ws``/``wss`` for ``http``/``https``."""
        if self.base_url.startswith("https://"):
            return "wss://" + self.base_url.removeprefix("https://")
        if self.base_url.startswith("http://"):
            return "ws://" + self.base_url.removeprefix("http://")
        return self.base_url


def as_timeout(timeout: Timeout | NotGiven) -> httpx.Timeout:
    if isinstance(timeout, NotGiven):
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(timeout)
