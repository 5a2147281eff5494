"""TwiML that connects a call's audio to Phony's media WebSocket (used by the edge's webhook answers
and by the worker when it reconnects a stream after sending DTMF)."""

from __future__ import annotations

from twilio.twiml.voice_response import Connect, VoiceResponse

from phony.config import Settings


def media_url(settings: Settings) -> str:
    """The media WebSocket URL Twilio connects to (ws/wss of the public URL)."""
    base = settings.base_url
    scheme = "wss" if base.startswith("https://") else "ws"
    return f"{scheme}://{base.split('://', 1)[1]}/media/ws"


def stream_twiml(settings: Settings, parameters: dict[str, str], before: VoiceResponse | None = None) -> str:
    """``<Connect><Stream>`` to the media socket, with the call's identity as ``<Parameter>``s (Twilio
    strips query strings from stream URLs)."""
    response = before or VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=media_url(settings))
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    response.append(connect)
    return str(response)
