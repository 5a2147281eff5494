"""Inbound routing needs each phone number on at most one active agent across all tenants.

Agents live on different partitions (maybe different workers), so the claim is made in a
worker-owned MongoDB collection whose ``_id`` is the number: the unique key decides races.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from phony.workers.decisions import Refusal


class PhoneClaims:
    """Claims and releases numbers for agents."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._claims = collection

    async def claim(self, agent_id: str, numbers: set[str]) -> None:
        """Claim every number for ``agent_id`` or none (409 naming the first number taken)."""
        taken: list[str] = []
        for number in sorted(numbers):
            try:
                await self._claims.insert_one({"_id": number, "agent_id": agent_id})
                taken.append(number)
            except DuplicateKeyError:
                holder = await self._claims.find_one({"_id": number})
                if holder is not None and holder["agent_id"] == agent_id:
                    continue  # ours already (a redelivered command)
                await self.release(agent_id, set(taken))
                raise Refusal(
                    "CONFLICT",
                    409,
                    f"phone number {number} already belongs to an active agent",
                    field="phone_numbers",
                    value=number,
                ) from None

    async def release(self, agent_id: str, numbers: set[str]) -> None:
        """Release numbers held by ``agent_id`` (never another agent's)."""
        if numbers:
            await self._claims.delete_many({"_id": {"$in": sorted(numbers)}, "agent_id": agent_id})
