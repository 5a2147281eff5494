"""``client.calls``: place calls, list and read them, their transcripts, event logs and audio."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from phony_client._http import path
from phony_client._paging import AsyncPage, SyncPage
from phony_client._types import NOT_GIVEN, NotGiven, given, sent
from phony_client.models.calls import (
    Call,
    CallCreate,
    CallEvents,
    CallList,
    CallPlaced,
    CallStatus,
    Direction,
    Transcript,
)
from phony_client.resources._base import AsyncResource, SyncResource

PAGE_SIZE = 100
CHUNK = 64 * 1024


def _calls(page: CallList) -> list[Call]:
    return page.calls


def _sid(call: Call) -> str:
    return call.call_sid


def _instant(at: datetime | str | None) -> str | None:
    """A filter's time as the API takes it (RFC 3339; a naive datetime is taken as UTC)."""
    if isinstance(at, datetime):
        return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()
    return at


def _list_params(
    status: CallStatus | str | None,
    agent_id: str | None,
    direction: Direction | str | None,
    created_since: datetime | str | None,
    created_before: datetime | str | None,
    limit: int | NotGiven,
    offset: int | NotGiven,
) -> dict[str, Any]:
    filters = {
        "status": status,
        "agent_id": agent_id,
        "direction": direction,
        "created_since": _instant(created_since),
        "created_before": _instant(created_before),
    }
    return {**filters, **given(limit=limit, offset=offset)}


class Calls(SyncResource):
    """The tenant's calls (``/calls/``)."""

    def create(
        self,
        *,
        agent_id: str,
        to_number: str,
        from_number: str | NotGiven = NOT_GIVEN,
        scenario: str | NotGiven = NOT_GIVEN,
        metadata: dict[str, Any] | NotGiven = NOT_GIVEN,
    ) -> CallPlaced:
        """Place an outbound call: Twilio dials ``to_number`` from ``from_number`` (default: the
        agent's first number) and the agent talks once the callee answers. Returns once the call
        exists; follow it with ``client.events.stream(call.call_sid)``. Never retried (a POST)."""
        body = CallCreate.model_validate(sent(locals())).to_wire()
        return self._http.call("POST", CallPlaced, "/calls/", body)

    def list(
        self,
        *,
        status: CallStatus | str | None = None,
        agent_id: str | None = None,
        direction: Direction | str | None = None,
        created_since: datetime | str | None = None,
        created_before: datetime | str | None = None,
        limit: int | NotGiven = NOT_GIVEN,
        offset: int | NotGiven = NOT_GIVEN,
    ) -> SyncPage[Call]:
        """One page of calls, newest first; iterate the page to walk every call from there on.
        ``created_since`` (at or after) and ``created_before`` bound when they were created."""
        params = _list_params(status, agent_id, direction, created_since, created_before, limit, offset)
        return self._page(CallList, "/calls/", params, _calls, _sid)

    def list_all(
        self,
        *,
        status: CallStatus | str | None = None,
        agent_id: str | None = None,
        direction: Direction | str | None = None,
        created_since: datetime | str | None = None,
        created_before: datetime | str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[Call]:
        """Every call (newest first), fetched a page at a time."""
        return iter(
            self.list(
                status=status,
                agent_id=agent_id,
                direction=direction,
                created_since=created_since,
                created_before=created_before,
                limit=page_size,
            )
        )

    def get(self, call_sid: str) -> Call:
        """Status, parties, agent, timestamps, duration and end reason of one call."""
        return self._http.get(Call, path("/calls/{}", call_sid))

    def transcript(self, call_sid: str) -> Transcript:
        """What the caller, the AI and the supervisor said, in order."""
        return self._http.get(Transcript, path("/calls/{}/transcript", call_sid))

    def events(self, call_sid: str, *, since: int = 0) -> CallEvents:
        """The call's stored event log (events with a seq greater than ``since``), typed."""
        return self._http.get(CallEvents, path("/calls/{}/events", call_sid), {"since": since})

    def recording(self, call_sid: str) -> bytes:
        """The whole call as a stereo WAV file (caller left, AI right)."""
        return self._http.send("GET", path("/calls/{}/recording", call_sid)).content

    def download_recording(self, call_sid: str, destination: str | Path) -> Path:
        """Write the call's WAV file to ``destination``, streamed; returns its path."""
        target = Path(destination)
        response = self._http.send("GET", path("/calls/{}/recording", call_sid), stream=True)
        try:
            with target.open("wb") as out:
                for chunk in response.iter_bytes(CHUNK):
                    out.write(chunk)
        finally:
            response.close()
        return target

    def response_audio(self, call_sid: str, response_id: str) -> bytes:
        """What the AI said in one response (an ``ai.response``'s ``audio_url``), as a mono WAV."""
        url = path("/calls/{}/responses/{}/audio", call_sid, response_id)
        return self._http.send("GET", url).content


class AsyncCalls(AsyncResource):
    """The tenant's calls (``/calls/``), async."""

    async def create(
        self,
        *,
        agent_id: str,
        to_number: str,
        from_number: str | NotGiven = NOT_GIVEN,
        scenario: str | NotGiven = NOT_GIVEN,
        metadata: dict[str, Any] | NotGiven = NOT_GIVEN,
    ) -> CallPlaced:
        """See :meth:`Calls.create`."""
        body = CallCreate.model_validate(sent(locals())).to_wire()
        return await self._http.call("POST", CallPlaced, "/calls/", body)

    async def list(
        self,
        *,
        status: CallStatus | str | None = None,
        agent_id: str | None = None,
        direction: Direction | str | None = None,
        created_since: datetime | str | None = None,
        created_before: datetime | str | None = None,
        limit: int | NotGiven = NOT_GIVEN,
        offset: int | NotGiven = NOT_GIVEN,
    ) -> AsyncPage[Call]:
        params = _list_params(status, agent_id, direction, created_since, created_before, limit, offset)
        return await self._page(CallList, "/calls/", params, _calls, _sid)

    async def list_all(
        self,
        *,
        status: CallStatus | str | None = None,
        agent_id: str | None = None,
        direction: Direction | str | None = None,
        created_since: datetime | str | None = None,
        created_before: datetime | str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> AsyncIterator[Call]:
        first = await self.list(
            status=status,
            agent_id=agent_id,
            direction=direction,
            created_since=created_since,
            created_before=created_before,
            limit=page_size,
        )
        async for call in first:
            yield call

    async def get(self, call_sid: str) -> Call:
        return await self._http.get(Call, path("/calls/{}", call_sid))

    async def transcript(self, call_sid: str) -> Transcript:
        return await self._http.get(Transcript, path("/calls/{}/transcript", call_sid))

    async def events(self, call_sid: str, *, since: int = 0) -> CallEvents:
        return await self._http.get(CallEvents, path("/calls/{}/events", call_sid), {"since": since})

    async def recording(self, call_sid: str) -> bytes:
        return (await self._http.send("GET", path("/calls/{}/recording", call_sid))).content

    async def download_recording(self, call_sid: str, destination: str | Path) -> Path:
        target = Path(destination)
        response = await self._http.send("GET", path("/calls/{}/recording", call_sid), stream=True)
        try:
            with target.open("wb") as out:  # noqa: ASYNC230  # local disk, a chunk at a time
                async for chunk in response.aiter_bytes(CHUNK):
                    out.write(chunk)
        finally:
            await response.aclose()
        return target

    async def response_audio(self, call_sid: str, response_id: str) -> bytes:
        url = path("/calls/{}/responses/{}/audio", call_sid, response_id)
        return (await self._http.send("GET", url)).content
