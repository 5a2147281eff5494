"""``client.agents``: create, list, read, change and delete agents."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from phony_client._http import path
from phony_client._paging import AsyncPage, SyncPage
from phony_client._types import NOT_GIVEN, NotGiven, given, sent
from phony_client.models.agents import Agent, AgentCreate, AgentList, AgentUpdate, Voice
from phony_client.resources._base import AsyncResource, SyncResource

PAGE_SIZE = 100  # the most the server gives per page
# ``list`` in a class with a ``list`` method names the method: annotations there use this alias.
Strings = list[str]


def _agents(page: AgentList) -> list[Agent]:
    return page.agents


def _id(agent: Agent) -> str:
    return agent.id


def _list_params(limit: int | NotGiven, offset: int | NotGiven, is_active: bool | None) -> dict[str, Any]:
    return {**given(limit=limit, offset=offset), "is_active": is_active}


class Agents(SyncResource):
    """The tenant's agents (``/agents/``)."""

    def create(
        self,
        *,
        name: str,
        system_prompt: str | NotGiven = NOT_GIVEN,
        voice: Voice | str | NotGiven = NOT_GIVEN,
        model: str | NotGiven = NOT_GIVEN,
        greeting_message: str | NotGiven | None = NOT_GIVEN,
        phone_numbers: Strings | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        temperature: float | NotGiven = NOT_GIVEN,
        max_tokens: int | NotGiven | None = NOT_GIVEN,
        supported_languages: Strings | NotGiven = NOT_GIVEN,
        language_detection: bool | NotGiven = NOT_GIVEN,
        transfer_allowlist: Strings | NotGiven = NOT_GIVEN,
        require_approval: bool | NotGiven = NOT_GIVEN,
    ) -> Agent:
        """Create an agent; fields left out take the server's defaults. Its ``phone_numbers`` (E.164)
        must not belong to another active agent (:class:`~phony_client.ConflictError`)."""
        body = AgentCreate.model_validate(sent(locals())).to_wire()
        return self._http.call("POST", Agent, "/agents/", body)

    def list(
        self,
        *,
        limit: int | NotGiven = NOT_GIVEN,
        offset: int | NotGiven = NOT_GIVEN,
        is_active: bool | None = None,
    ) -> SyncPage[Agent]:
        """One page of agents, oldest first (``limit`` 1-100, default 10); iterate the page to walk
        every agent from there on."""
        return self._page(AgentList, "/agents/", _list_params(limit, offset, is_active), _agents, _id)

    def list_all(self, *, is_active: bool | None = None, page_size: int = PAGE_SIZE) -> Iterator[Agent]:
        """Every agent, fetched a page at a time."""
        return iter(self.list(limit=page_size, is_active=is_active))

    def get(self, agent_id: str) -> Agent:
        return self._http.get(Agent, path("/agents/{}", agent_id))

    def update(
        self,
        agent_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        system_prompt: str | NotGiven = NOT_GIVEN,
        voice: Voice | str | NotGiven = NOT_GIVEN,
        model: str | NotGiven = NOT_GIVEN,
        greeting_message: str | NotGiven | None = NOT_GIVEN,
        phone_numbers: Strings | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        temperature: float | NotGiven = NOT_GIVEN,
        max_tokens: int | NotGiven | None = NOT_GIVEN,
        supported_languages: Strings | NotGiven = NOT_GIVEN,
        language_detection: bool | NotGiven = NOT_GIVEN,
        transfer_allowlist: Strings | NotGiven = NOT_GIVEN,
        require_approval: bool | NotGiven = NOT_GIVEN,
    ) -> Agent:
        """Change the fields given (``PATCH``); the others stay. ``None`` clears ``greeting_message``
        and ``max_tokens``."""
        body = AgentUpdate.model_validate(sent(locals(), "agent_id")).to_wire()
        return self._http.call("PATCH", Agent, path("/agents/{}", agent_id), body)

    def replace(
        self,
        agent_id: str,
        *,
        name: str,
        system_prompt: str | NotGiven = NOT_GIVEN,
        voice: Voice | str | NotGiven = NOT_GIVEN,
        model: str | NotGiven = NOT_GIVEN,
        greeting_message: str | NotGiven | None = NOT_GIVEN,
        phone_numbers: Strings | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        temperature: float | NotGiven = NOT_GIVEN,
        max_tokens: int | NotGiven | None = NOT_GIVEN,
        supported_languages: Strings | NotGiven = NOT_GIVEN,
        language_detection: bool | NotGiven = NOT_GIVEN,
        transfer_allowlist: Strings | NotGiven = NOT_GIVEN,
        require_approval: bool | NotGiven = NOT_GIVEN,
    ) -> Agent:
        """Replace every setting (``PUT``): fields left out take their defaults again."""
        body = AgentCreate.model_validate(sent(locals(), "agent_id")).to_wire()
        return self._http.call("PUT", Agent, path("/agents/{}", agent_id), body)

    def delete(self, agent_id: str) -> None:
        """Delete the agent; its numbers are free for other agents at once."""
        self._http.send("DELETE", path("/agents/{}", agent_id))


class AsyncAgents(AsyncResource):
    """The tenant's agents (``/agents/``), async."""

    async def create(
        self,
        *,
        name: str,
        system_prompt: str | NotGiven = NOT_GIVEN,
        voice: Voice | str | NotGiven = NOT_GIVEN,
        model: str | NotGiven = NOT_GIVEN,
        greeting_message: str | NotGiven | None = NOT_GIVEN,
        phone_numbers: Strings | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        temperature: float | NotGiven = NOT_GIVEN,
        max_tokens: int | NotGiven | None = NOT_GIVEN,
        supported_languages: Strings | NotGiven = NOT_GIVEN,
        language_detection: bool | NotGiven = NOT_GIVEN,
        transfer_allowlist: Strings | NotGiven = NOT_GIVEN,
        require_approval: bool | NotGiven = NOT_GIVEN,
    ) -> Agent:
        """See :meth:`Agents.create`."""
        body = AgentCreate.model_validate(sent(locals())).to_wire()
        return await self._http.call("POST", Agent, "/agents/", body)

    async def list(
        self,
        *,
        limit: int | NotGiven = NOT_GIVEN,
        offset: int | NotGiven = NOT_GIVEN,
        is_active: bool | None = None,
    ) -> AsyncPage[Agent]:
        """One page of agents; ``async for`` over the page walks every agent from there on."""
        return await self._page(AgentList, "/agents/", _list_params(limit, offset, is_active), _agents, _id)

    async def list_all(
        self, *, is_active: bool | None = None, page_size: int = PAGE_SIZE
    ) -> AsyncIterator[Agent]:
        """Every agent, fetched a page at a time (``async for agent in client.agents.list_all()``)."""
        async for agent in await self.list(limit=page_size, is_active=is_active):
            yield agent

    async def get(self, agent_id: str) -> Agent:
        return await self._http.get(Agent, path("/agents/{}", agent_id))

    async def update(
        self,
        agent_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        system_prompt: str | NotGiven = NOT_GIVEN,
        voice: Voice | str | NotGiven = NOT_GIVEN,
        model: str | NotGiven = NOT_GIVEN,
        greeting_message: str | NotGiven | None = NOT_GIVEN,
        phone_numbers: Strings | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        temperature: float | NotGiven = NOT_GIVEN,
        max_tokens: int | NotGiven | None = NOT_GIVEN,
        supported_languages: Strings | NotGiven = NOT_GIVEN,
        language_detection: bool | NotGiven = NOT_GIVEN,
        transfer_allowlist: Strings | NotGiven = NOT_GIVEN,
        require_approval: bool | NotGiven = NOT_GIVEN,
    ) -> Agent:
        """See :meth:`Agents.update`."""
        body = AgentUpdate.model_validate(sent(locals(), "agent_id")).to_wire()
        return await self._http.call("PATCH", Agent, path("/agents/{}", agent_id), body)

    async def replace(
        self,
        agent_id: str,
        *,
        name: str,
        system_prompt: str | NotGiven = NOT_GIVEN,
        voice: Voice | str | NotGiven = NOT_GIVEN,
        model: str | NotGiven = NOT_GIVEN,
        greeting_message: str | NotGiven | None = NOT_GIVEN,
        phone_numbers: Strings | NotGiven = NOT_GIVEN,
        is_active: bool | NotGiven = NOT_GIVEN,
        temperature: float | NotGiven = NOT_GIVEN,
        max_tokens: int | NotGiven | None = NOT_GIVEN,
        supported_languages: Strings | NotGiven = NOT_GIVEN,
        language_detection: bool | NotGiven = NOT_GIVEN,
        transfer_allowlist: Strings | NotGiven = NOT_GIVEN,
        require_approval: bool | NotGiven = NOT_GIVEN,
    ) -> Agent:
        """See :meth:`Agents.replace`."""
        body = AgentCreate.model_validate(sent(locals(), "agent_id")).to_wire()
        return await self._http.call("PUT", Agent, path("/agents/{}", agent_id), body)

    async def delete(self, agent_id: str) -> None:
        await self._http.send("DELETE", path("/agents/{}", agent_id))
