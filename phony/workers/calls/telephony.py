"""Twilio actions, through the ``twilio`` package's async REST client (pointed at
``PHONY_TWILIO_API_BASE``: Twilio itself, or the simulator)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientError
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from phony.config import Settings
from phony.twiml import stream_twiml

STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]


class TelephonyError(Exception):
    """Twilio refused a request on a live call, or could not be reached."""


class CallUnknown(TelephonyError):
    """Twilio has no such call (404): it is not live there, whatever Phony last heard."""


async def _update(request: Awaitable[Any]) -> None:
    """Await a call update, as a :class:`TelephonyError` when it fails."""
    try:
        await request
    except (TwilioException, ClientError, TimeoutError) as exc:
        raise TelephonyError(str(exc)) from exc


class Telephony:
    """Places, redirects and hangs up calls."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._http = AsyncTwilioHttpClient()
        self._client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            http_client=self._http,
        )
        self._client.api.base_url = settings.twilio_api_base.rstrip("/")

    async def close(self) -> None:
        await self._http.close()

    async def place(self, *, to: str, from_: str, answer_query: dict[str, str]) -> Any:
        """Dial ``to``; Twilio fetches ``/start_call`` when answered and reports progress to
        ``/status_callback``. Returns Twilio's call resource."""
        base = self._settings.base_url
        return await self._client.calls.create_async(
            to=to,
            from_=from_,
            url=f"{base}/start_call?{urlencode(answer_query)}",
            method="POST",
            status_callback=f"{base}/status_callback",
            status_callback_event=STATUS_EVENTS,
            status_callback_method="POST",
        )

    async def status(self, call_sid: str) -> tuple[str, float | None]:
        """How the call stands at Twilio: its status and, once it has ended, its duration."""
        try:
            call = await self._client.calls(call_sid).fetch_async()
        except TwilioRestException as exc:
            raise (CallUnknown if exc.status == 404 else TelephonyError)(str(exc)) from exc
        except (TwilioException, ClientError, TimeoutError) as exc:
            raise TelephonyError(str(exc)) from exc
        duration = float(call.duration) if call.duration not in (None, "") else None
        return str(call.status), duration

    async def hang_up(self, call_sid: str) -> None:
        await _update(self._client.calls(call_sid).update_async(status="completed"))

    async def transfer(self, call_sid: str, target: str) -> None:
        response = VoiceResponse()
        response.dial(target)
        await _update(self._client.calls(call_sid).update_async(twiml=str(response)))

    async def play_digits(self, call_sid: str, digits: str, parameters: dict[str, str]) -> None:
        """Send DTMF on the live call, then reconnect the media stream (new TwiML ends the old one)."""
        response = VoiceResponse()
        response.play(digits=f"w{digits}")
        twiml = stream_twiml(self._settings, parameters, response)
        await _update(self._client.calls(call_sid).update_async(twiml=twiml))
