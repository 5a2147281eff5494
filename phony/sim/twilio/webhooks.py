"""Signed requests from "Twilio" to the app: TwiML fetches, action URLs and status callbacks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

import httpx

from phony.sim.twilio.records import CallbackDelivery, SimCall
from phony.sim.twilio.resources import API_VERSION, now_utc, rfc2822
from phony.sim.twilio.signature import SIGNATURE_HEADER, compute_signature

__all__ = ["StatusCallbacks", "WebhookClient", "call_params"]

# Twilio gives a webhook 5 s to connect and 15 s to answer.
WEBHOOK_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
USER_AGENT = "TwilioProxy/1.1"

Spawn = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None]"]


def call_params(call: SimCall, call_status: str) -> dict[str, str]:
    """The parameters Twilio sends about a call with every voice webhook."""
    return {
        "AccountSid": call.account_sid,
        "ApiVersion": API_VERSION,
        "CallSid": call.sid,
        "CallStatus": call_status,
        "Called": call.to,
        "Caller": call.from_,
        "Direction": call.direction,
        "From": call.from_,
        "To": call.to,
    }


class WebhookClient:
    """Makes Twilio's webhook requests, each signed with ``X-Twilio-Signature``."""

    def __init__(self, auth_token: str, http: httpx.AsyncClient) -> None:
        """Sign with ``auth_token``; send through ``http`` (owned by the caller)."""
        self._auth_token = auth_token
        self._http = http

    async def request(self, url: str, params: dict[str, str], method: str = "POST") -> httpx.Response:
        """POST ``params`` as a form (signed over URL + params), or GET them as a query (URL signed)."""
        headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
        if method.upper() == "GET":
            full = url + ("&" if "?" in url else "?") + urlencode(params) if params else url
            headers[SIGNATURE_HEADER] = compute_signature(self._auth_token, full, {})
            return await self._http.get(full, headers=headers, timeout=WEBHOOK_TIMEOUT)
        headers[SIGNATURE_HEADER] = compute_signature(self._auth_token, url, params)
        return await self._http.post(url, data=params, headers=headers, timeout=WEBHOOK_TIMEOUT)


class StatusCallbacks:
    """A call's status callbacks: only the subscribed events, numbered, delivered in order.

    Delivery runs in the background (Twilio does not hold a call up for its callbacks); each delivery
    waits for the one before it so the receiver sees them in ``SequenceNumber`` order.
    """

    def __init__(self, call: SimCall, webhooks: WebhookClient, spawn: Spawn) -> None:
        """Callbacks for ``call``, sent with ``webhooks``, in tasks made by ``spawn``."""
        self._call = call
        self._webhooks = webhooks
        self._spawn = spawn
        self._sequence = 0
        self._last: asyncio.Task[None] | None = None

    def emit(self, event: str, call_status: str) -> None:
        """Send the ``event`` callback (initiated, ringing, answered, completed) if it was asked for."""
        call = self._call
        if not call.status_callback or event not in call.status_callback_events:
            return
        params = call_params(call, call_status)
        params.update(
            {
                "CallbackSource": "call-progress-events",
                "SequenceNumber": str(self._sequence),
                "Timestamp": rfc2822(now_utc()) or "",
            }
        )
        if event == "completed":
            params["CallDuration"] = str(call.duration or 0)
        self._sequence += 1
        self._last = self._spawn(self._deliver(self._last, event, call.status_callback, params))

    async def drain(self) -> None:
        """Wait until every callback emitted so far has been delivered (or has failed)."""
        if self._last is not None:
            await asyncio.wait([self._last])

    async def _deliver(
        self, previous: asyncio.Task[None] | None, event: str, url: str, params: dict[str, str]
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        method = self._call.status_callback_method
        try:
            response = await self._webhooks.request(url, params, method)
        except httpx.HTTPError as exc:
            delivery = CallbackDelivery(event, url, method, params, None, f"{type(exc).__name__}: {exc}")
        else:
            delivery = CallbackDelivery(event, url, method, params, response.status_code)
        self._call.callbacks.append(delivery)
