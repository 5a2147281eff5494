"""Twilio's request signatures, checked with the ``twilio`` package's ``RequestValidator`` over the
public URL (``PHONY_PUBLIC_URL``: what Twilio called, not what the proxy forwarded) and every posted
parameter."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from twilio.request_validator import RequestValidator

from phony.config import Settings

SIGNATURE_HEADER = "X-Twilio-Signature"


class TwilioSignatures:
    """Validates webhooks and media-socket handshakes; off only when ``PHONY_ENV=dev`` has no token."""

    def __init__(self, settings: Settings) -> None:
        token = settings.twilio_auth_token.get_secret_value()
        if not token and settings.env != "dev":
            raise RuntimeError(
                "PHONY_TWILIO_AUTH_TOKEN is required to check Twilio's webhook signatures "
                "(set PHONY_ENV=dev to run without, or run `phony serve` with no credentials at all "
                "to use the simulators)"
            )
        self._settings = settings
        self._validator = RequestValidator(token) if token else None

    def public_url(self, connection: HTTPConnection, websocket: bool = False) -> str:
        """The URL Twilio signed: the public base, the path, and the query string as sent."""
        base = self._settings.base_url
        if websocket:
            base = ("wss://" if base.startswith("https://") else "ws://") + base.split("://", 1)[1]
        query = connection.url.query
        return f"{base}{connection.url.path}" + (f"?{query}" if query else "")

    def valid(self, connection: HTTPConnection, params: dict[str, str], websocket: bool = False) -> bool:
        if self._validator is None:
            return True
        signature = connection.headers.get(SIGNATURE_HEADER, "")
        return bool(signature) and bool(
            self._validator.validate(self.public_url(connection, websocket), params, signature)
        )
