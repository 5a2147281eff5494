"""Point the real ``twilio`` REST client at another base URL (the fake Twilio, or a recording proxy).

The ``twilio`` package builds absolute ``https://api.twilio.com/...`` URLs in its domain objects and
hands them to its HTTP client, so the narrowest seam is the HTTP client itself: these subclasses
rewrite that prefix and leave everything else (auth, headers, form encoding, error parsing) to the
library. Leave ``edge``/``region`` unset on the ``Client``: they rewrite the host name first.

This module imports nothing else from ``phony`` so the product can use it as it is::

    client = Client(sid, token, http_client=RedirectingHttpClient(sim.base_url))
"""

from __future__ import annotations

import base64
from typing import Any

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient

__all__ = ["TWILIO_API_BASE", "RedirectingAsyncHttpClient", "RedirectingHttpClient", "redirect_url"]

TWILIO_API_BASE = "https://api.twilio.com"


def redirect_url(url: str, base_url: str) -> str:
    """``url`` with a leading ``https://api.twilio.com`` replaced by ``base_url`` (others unchanged)."""
    if url == TWILIO_API_BASE or url.startswith(TWILIO_API_BASE + "/"):
        return base_url.rstrip("/") + url[len(TWILIO_API_BASE) :]
    return url


# twilio ships no type information, so its base classes are ``Any`` to mypy.
class RedirectingHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """A blocking ``TwilioHttpClient`` that sends API requests to ``base_url`` instead of Twilio."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        """``base_url`` like ``http://127.0.0.1:8099``; other arguments go to ``TwilioHttpClient``."""
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        """Send the request to the redirected URL (same signature as ``TwilioHttpClient.request``)."""
        return super().request(method, redirect_url(url, self.base_url), *args, **kwargs)


class RedirectingAsyncHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The ``AsyncTwilioHttpClient`` counterpart: use with ``Client(..., http_client=...)`` and ``*_async``.

    Create it inside a running event loop (it opens an aiohttp session) and ``await client.close()``
    (or use it as an async context manager) when done.
    """

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        """``base_url`` like ``http://127.0.0.1:8099``; other arguments go to ``AsyncTwilioHttpClient``."""
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        """Send the request to the redirected URL (same signature as the parent's ``request``)."""
        auth = kwargs.get("auth")
        if auth is not None:
            # The parent hands aiohttp an ``auth=BasicAuth`` that aiohttp now deprecates (warning on
            # every request); the same credentials as a header are what goes on the wire anyway.
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "Authorization": f"Basic {token}"}
            kwargs["auth"] = None
        return await super().request(method, redirect_url(url, self.base_url), *args, **kwargs)
