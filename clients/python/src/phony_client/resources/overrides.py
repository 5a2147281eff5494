"""``client.overrides``: supervisor controls on a live call (``/override/``).

Each returns once the command is durably recorded; the call's worker carries it out and records it
as events. An unknown or finished call is a :class:`~phony_client.NotFoundError`. These are POSTs:
they are never retried (a retried ``text`` could be spoken twice).
"""

from __future__ import annotations

from phony_client._types import NOT_GIVEN, NotGiven, given
from phony_client.models._base import RequestModel
from phony_client.models.overrides import (
    ApproveOverride,
    ClarificationOverride,
    DtmfOverride,
    EndOverride,
    OverrideResult,
    TextOverride,
    TransferOverride,
)
from phony_client.resources._base import AsyncResource, SyncResource


class Overrides(SyncResource):
    def _send(self, action: str, body: RequestModel) -> OverrideResult:
        return self._http.call("POST", OverrideResult, f"/override/{action}", body.to_wire())

    def text(self, call_sid: str, text: str) -> OverrideResult:
        """Speak ``text`` to the caller, word for word, interrupting the AI."""
        return self._send("text", TextOverride(callSid=call_sid, text=text))

    def transfer(self, call_sid: str, target: str) -> OverrideResult:
        """Transfer the caller to ``target`` (E.164)."""
        return self._send("transfer", TransferOverride(callSid=call_sid, target=target))

    def dtmf(self, call_sid: str, digits: str) -> OverrideResult:
        """Send DTMF ``digits`` (``0-9 * # w W``) on the line."""
        return self._send("dtmf", DtmfOverride(callSid=call_sid, digits=digits))

    def end(self, call_sid: str) -> OverrideResult:
        """Hang up the call."""
        return self._send("end", EndOverride(callSid=call_sid))

    def clarification(self, call_sid: str, response: str) -> OverrideResult:
        """Answer the AI's ``request_user`` question; :class:`~phony_client.ConflictError` when it
        asked nothing."""
        return self._send("clarification", ClarificationOverride(callSid=call_sid, response=response))

    def approve(self, call_sid: str, response_id: str, *, text: str | NotGiven = NOT_GIVEN) -> OverrideResult:
        """Release a reply held for approval; ``text`` replaces its words."""
        body = ApproveOverride.model_validate(
            {"callSid": call_sid, "response_id": response_id, **given(text=text)}
        )
        return self._send("approve", body)


class AsyncOverrides(AsyncResource):
    async def _send(self, action: str, body: RequestModel) -> OverrideResult:
        return await self._http.call("POST", OverrideResult, f"/override/{action}", body.to_wire())

    async def text(self, call_sid: str, text: str) -> OverrideResult:
        return await self._send("text", TextOverride(callSid=call_sid, text=text))

    async def transfer(self, call_sid: str, target: str) -> OverrideResult:
        return await self._send("transfer", TransferOverride(callSid=call_sid, target=target))

    async def dtmf(self, call_sid: str, digits: str) -> OverrideResult:
        return await self._send("dtmf", DtmfOverride(callSid=call_sid, digits=digits))

    async def end(self, call_sid: str) -> OverrideResult:
        return await self._send("end", EndOverride(callSid=call_sid))

    async def clarification(self, call_sid: str, response: str) -> OverrideResult:
        return await self._send("clarification", ClarificationOverride(callSid=call_sid, response=response))

    async def approve(
        self, call_sid: str, response_id: str, *, text: str | NotGiven = NOT_GIVEN
    ) -> OverrideResult:
        body = ApproveOverride.model_validate(
            {"callSid": call_sid, "response_id": response_id, **given(text=text)}
        )
        return await self._send("approve", body)
