"""Media Streams wire messages: the app's messages parsed once (pydantic, on ``event``), Twilio's built.

Messages Twilio sends are built as plain dicts and serialised once: the per-frame path stays a dict
and a ``json.dumps``. Every number Twilio puts on the wire (sequenceNumber, chunk, timestamp) is a
string, as Twilio sends them.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "APP_MESSAGE",
    "AppClear",
    "AppMark",
    "AppMedia",
    "AppMessage",
    "connected_message",
    "dtmf_message",
    "mark_message",
    "media_message",
    "start_message",
    "stop_message",
]


class _Wire(BaseModel):
    # Twilio ignores fields it does not know; the types of the ones it uses must be right.
    model_config = ConfigDict(frozen=True, extra="ignore")


class MediaPayload(_Wire):
    """``media`` of an app media message: base64 μ-law 8 kHz, no header."""

    payload: str


class MarkBody(_Wire):
    """``mark`` of an app mark message."""

    name: str


class AppMedia(_Wire):
    """Audio for Twilio to play to the party."""

    event: Literal["media"]
    streamSid: str
    media: MediaPayload


class AppMark(_Wire):
    """Echo ``mark.name`` back once everything queued before it has played."""

    event: Literal["mark"]
    streamSid: str
    mark: MarkBody


class AppClear(_Wire):
    """Drop all queued audio (barge-in) and echo the pending marks."""

    event: Literal["clear"]
    streamSid: str


AppMessage = Annotated[AppMedia | AppMark | AppClear, Field(discriminator="event")]
APP_MESSAGE: TypeAdapter[AppMedia | AppMark | AppClear] = TypeAdapter(AppMessage)


def _dump(message: dict[str, object]) -> str:
    return json.dumps(message, separators=(",", ":"))


def connected_message() -> str:
    """The first message on every stream (no sequenceNumber, no streamSid)."""
    return _dump({"event": "connected", "protocol": "Call", "version": "1.0.0"})


def start_message(
    seq: int, stream_sid: str, account_sid: str, call_sid: str, custom_parameters: dict[str, str]
) -> str:
    """Stream metadata, sent once right after ``connected`` with sequenceNumber "1"."""
    return _dump(
        {
            "event": "start",
            "sequenceNumber": str(seq),
            "start": {
                "accountSid": account_sid,
                "streamSid": stream_sid,
                "callSid": call_sid,
                "tracks": ["inbound"],
                "customParameters": custom_parameters,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
            "streamSid": stream_sid,
        }
    )


def media_message(seq: int, stream_sid: str, chunk: int, timestamp_ms: int, payload_b64: str) -> str:
    """One 20 ms frame of the party's audio (the ``inbound`` track).

    Built as a string (50 a second per call): the same JSON ``_dump`` would write for these
    fields, whose values (digits, a Twilio sid, base64) need no escaping.
    """
    return (
        f'{{"event":"media","sequenceNumber":"{seq}","media":{{"track":"inbound",'
        f'"chunk":"{chunk}","timestamp":"{timestamp_ms}","payload":"{payload_b64}"}},'
        f'"streamSid":"{stream_sid}"}}'
    )


def mark_message(seq: int, stream_sid: str, name: str) -> str:
    """The echo of an app's mark: its audio has played (or was cleared)."""
    return _dump(
        {"event": "mark", "sequenceNumber": str(seq), "streamSid": stream_sid, "mark": {"name": name}}
    )


def dtmf_message(seq: int, stream_sid: str, digit: str) -> str:
    """A key the party pressed."""
    return _dump(
        {
            "event": "dtmf",
            "streamSid": stream_sid,
            "sequenceNumber": str(seq),
            "dtmf": {"track": "inbound_track", "digit": digit},
        }
    )


def stop_message(seq: int, stream_sid: str, account_sid: str, call_sid: str) -> str:
    """The last message of a stream Twilio ends (call hung up, or new TwiML)."""
    return _dump(
        {
            "event": "stop",
            "sequenceNumber": str(seq),
            "streamSid": stream_sid,
            "stop": {"accountSid": account_sid, "callSid": call_sid},
        }
    )
