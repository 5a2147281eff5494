"""Ordered work side by side: what must keep its order (one aggregate's commands, one partition's
events) runs one after another, and independent groups of it concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import TypeVar

T = TypeVar("T")


def grouped(items: Iterable[T], key: Callable[[T], Hashable]) -> list[list[T]]:
    """``items`` by ``key``, each group in the order the items came."""
    groups: dict[Hashable, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return list(groups.values())


async def each_in_order(
    groups: Iterable[list[T]], run: Callable[[T], Awaitable[None]], at_once: int | None = None
) -> None:
    """``run`` every item, each group's in order and the groups side by side (at most ``at_once``
    groups at a time); the first failure cancels the rest and is raised (in an ``ExceptionGroup``)."""
    turns = asyncio.Semaphore(at_once) if at_once is not None else None

    async def one_group(items: list[T]) -> None:
        if turns is not None:
            await turns.acquire()
        try:
            for item in items:
                await run(item)
        finally:
            if turns is not None:
                turns.release()

    async with asyncio.TaskGroup() as group:
        for items in groups:
            group.create_task(one_group(items))
