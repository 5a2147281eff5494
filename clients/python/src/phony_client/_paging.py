"""Pages of a list, and walking every page (offset paging, as the server's ``limit``/``offset``).

``client.agents.list()`` returns one :class:`SyncPage`; iterating it walks that page and every page
after it, fetching them as needed (as the ``openai`` package does). Items seen already are skipped:
when items are added while you walk, offsets shift and a page may repeat the last one's items.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class _Page(Generic[T]):
    def __init__(self, data: list[T], total: int, limit: int, offset: int, key: Callable[[T], str]) -> None:
        self.data = data
        self.total = total
        self.limit = limit
        self.offset = offset
        self._key = key

    def has_next_page(self) -> bool:
        """Whether items follow this page."""
        return bool(self.data) and self.offset + len(self.data) < self.total

    @property
    def next_offset(self) -> int:
        return self.offset + len(self.data)

    def __len__(self) -> int:
        """The number of items on this page (``total`` counts them all)."""
        return len(self.data)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(offset={self.offset}, limit={self.limit}, total={self.total}, "
            f"data=[{len(self.data)} items])"
        )


class SyncPage(_Page[T]):
    """One page: ``data``, ``total``, ``limit``, ``offset``. Iterating it walks every later page too."""

    def __init__(
        self,
        data: list[T],
        total: int,
        limit: int,
        offset: int,
        key: Callable[[T], str],
        fetch: Callable[[int], SyncPage[T]],
    ) -> None:
        super().__init__(data, total, limit, offset, key)
        self._fetch = fetch

    def next_page(self) -> SyncPage[T]:
        """The page after this one."""
        if not self.has_next_page():
            raise IndexError("no page after this one")
        return self._fetch(self.next_offset)

    def iter_pages(self) -> Iterator[SyncPage[T]]:
        """This page and each one after it."""
        page = self
        yield page
        while page.has_next_page():
            page = page.next_page()
            yield page

    def __iter__(self) -> Iterator[T]:
        seen: set[str] = set()
        for page in self.iter_pages():
            for item in page.data:
                if (k := self._key(item)) not in seen:
                    seen.add(k)
                    yield item


class AsyncPage(_Page[T]):
    """One page; ``async for`` over it walks every later page too."""

    def __init__(
        self,
        data: list[T],
        total: int,
        limit: int,
        offset: int,
        key: Callable[[T], str],
        fetch: Callable[[int], Awaitable[AsyncPage[T]]],
    ) -> None:
        super().__init__(data, total, limit, offset, key)
        self._fetch = fetch

    async def next_page(self) -> AsyncPage[T]:
        if not self.has_next_page():
            raise IndexError("no page after this one")
        return await self._fetch(self.next_offset)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        page = self
        yield page
        while page.has_next_page():
            page = await page.next_page()
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        seen: set[str] = set()
        async for page in self.iter_pages():
            for item in page.data:
                if (k := self._key(item)) not in seen:
                    seen.add(k)
                    yield item
