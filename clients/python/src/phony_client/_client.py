"""``PhonyClient`` and ``AsyncPhonyClient``: one connection pool, the key, and the resources."""

from __future__ import annotations

from types import TracebackType

import httpx

from phony_client._http import AsyncHttp, SyncHttp, parse
from phony_client._options import DEFAULT_MAX_RETRIES, ClientOptions, Timeout
from phony_client._types import NOT_GIVEN, NotGiven
from phony_client.errors import UnavailableError
from phony_client.models.common import Health
from phony_client.resources import (
    Agents,
    AsyncAgents,
    AsyncCalls,
    AsyncEvents,
    AsyncOverrides,
    AsyncTenants,
    Calls,
    Events,
    Overrides,
    Tenants,
)


class PhonyClient:
    """A client of one Phony server.

    ``base_url`` defaults to ``PHONY_BASE_URL``, else ``http://localhost:24187``; ``api_key`` to
    ``PHONY_API_KEY`` (a tenant key, or the operator key for the operator routes). ``timeout`` in
    seconds (or an ``httpx.Timeout``; default 30 s, 5 s to connect). Idempotent requests that fail
    with 429, 503, a broken connection or a timeout are retried up to ``max_retries`` times with
    exponential backoff and jitter (a 429's ``Retry-After`` is waited for). Pass ``http_client`` to
    bring your own ``httpx.Client`` (proxies, transports); it is then yours to close.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: dict[str, str] | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        options = ClientOptions.resolve(base_url, api_key, timeout, max_retries, default_headers)
        self._owns_client = http_client is None
        self._setup(options, http_client or httpx.Client())

    def _setup(self, options: ClientOptions, client: httpx.Client) -> None:
        self._options = options
        self._client = client
        self._http = SyncHttp(options, client)
        self.agents = Agents(self._http)
        self.calls = Calls(self._http)
        self.overrides = Overrides(self._http)
        self.tenants = Tenants(self._http)
        self.events = Events(self._http)

    @property
    def base_url(self) -> str:
        return self._options.base_url

    @property
    def max_retries(self) -> int:
        return self._options.max_retries

    @property
    def timeout(self) -> httpx.Timeout:
        return self._options.timeout

    def with_options(
        self,
        *,
        api_key: str | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> PhonyClient:
        """A client like this one (sharing its connections) with other settings:
        ``client.with_options(max_retries=0).agents.list()``."""
        other = object.__new__(PhonyClient)
        other._owns_client = False
        options = self._options.copy_with(api_key=api_key, timeout=timeout, max_retries=max_retries)
        other._setup(options, self._client)
        return other

    def health(self) -> Health:
        """``/healthz``: uptime, live calls and each dependency's state (also when degraded)."""
        # Not retried: a degraded server answers 503 with its state, which is the answer wanted.
        once = SyncHttp(self._options.copy_with(max_retries=0), self._client)
        try:
            return parse(Health, once.send("GET", "/healthz"))
        except UnavailableError as exc:
            if exc.response is None:
                raise
            return parse(Health, exc.response)

    def close(self) -> None:
        """Close the connections (not those of an ``http_client`` you passed)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> PhonyClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PhonyClient(base_url={self.base_url!r})"


class AsyncPhonyClient:
    """The async twin of :class:`PhonyClient` (``await client.agents.list()``)."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: dict[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        options = ClientOptions.resolve(base_url, api_key, timeout, max_retries, default_headers)
        self._owns_client = http_client is None
        self._setup(options, http_client or httpx.AsyncClient())

    def _setup(self, options: ClientOptions, client: httpx.AsyncClient) -> None:
        self._options = options
        self._client = client
        self._http = AsyncHttp(options, client)
        self.agents = AsyncAgents(self._http)
        self.calls = AsyncCalls(self._http)
        self.overrides = AsyncOverrides(self._http)
        self.tenants = AsyncTenants(self._http)
        self.events = AsyncEvents(self._http)

    @property
    def base_url(self) -> str:
        return self._options.base_url

    @property
    def max_retries(self) -> int:
        return self._options.max_retries

    @property
    def timeout(self) -> httpx.Timeout:
        return self._options.timeout

    def with_options(
        self,
        *,
        api_key: str | NotGiven = NOT_GIVEN,
        timeout: Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> AsyncPhonyClient:
        other = object.__new__(AsyncPhonyClient)
        other._owns_client = False
        options = self._options.copy_with(api_key=api_key, timeout=timeout, max_retries=max_retries)
        other._setup(options, self._client)
        return other

    async def health(self) -> Health:
        once = AsyncHttp(self._options.copy_with(max_retries=0), self._client)
        try:
            return parse(Health, await once.send("GET", "/healthz"))
        except UnavailableError as exc:
            if exc.response is None:
                raise
            return parse(Health, exc.response)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> AsyncPhonyClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncPhonyClient(base_url={self.base_url!r})"
