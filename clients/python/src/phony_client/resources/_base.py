"""Resources hold the client's HTTP layer; pages are built here for every list route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from phony_client._http import AsyncHttp, SyncHttp
from phony_client._paging import AsyncPage, SyncPage

T = TypeVar("T")
L = TypeVar("L", bound=BaseModel)


class SyncResource:
    def __init__(self, http: SyncHttp) -> None:
        self._http = http

    def _page(
        self,
        listing: type[L],
        url: str,
        params: dict[str, Any],
        items: Callable[[L], list[T]],
        key: Callable[[T], str],
    ) -> SyncPage[T]:
        """The page at ``params['offset']`` of ``url``, able to fetch the pages after it."""

        def fetch(offset: int) -> SyncPage[T]:
            body = self._http.get(listing, url, {**params, "offset": offset})
            meta = body.model_dump(include={"total", "limit", "offset"})
            return SyncPage(items(body), meta["total"], meta["limit"], meta["offset"], key, fetch)

        return fetch(params.get("offset") or 0)


class AsyncResource:
    def __init__(self, http: AsyncHttp) -> None:
        self._http = http

    async def _page(
        self,
        listing: type[L],
        url: str,
        params: dict[str, Any],
        items: Callable[[L], list[T]],
        key: Callable[[T], str],
    ) -> AsyncPage[T]:
        async def fetch(offset: int) -> AsyncPage[T]:
            body = await self._http.get(listing, url, {**params, "offset": offset})
            meta = body.model_dump(include={"total", "limit", "offset"})
            return AsyncPage(items(body), meta["total"], meta["limit"], meta["offset"], key, fetch)

        return await fetch(params.get("offset") or 0)
