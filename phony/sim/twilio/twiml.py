"""TwiML: the XML verbs a call follows, parsed into small frozen dataclasses.

Only the verbs a voice-agent backend uses are modelled; any other verb parses as :class:`Unsupported`
so the executor can log it the way Twilio logs a schema warning and move on.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

__all__ = [
    "Connect",
    "Dial",
    "Hangup",
    "Pause",
    "Play",
    "Redirect",
    "Reject",
    "Say",
    "StreamSpec",
    "TwimlError",
    "Unsupported",
    "Verb",
    "parse_twiml",
]


class TwimlError(ValueError):
    """The document is not TwiML Twilio could run (Twilio's error 12100, "Document parse failure")."""


@dataclass(frozen=True)
class StreamSpec:
    """``<Stream url=… name=…>`` with its ``<Parameter name value/>`` children."""

    url: str
    name: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Connect:
    """``<Connect action=…><Stream …/></Connect>``: a bidirectional media stream, blocking until it ends."""

    stream: StreamSpec | None
    action: str | None = None
    method: str = "POST"


@dataclass(frozen=True)
class Say:
    """``<Say>text</Say>``: Twilio speaks the text to the party."""

    text: str
    loop: int = 1


@dataclass(frozen=True)
class Play:
    """``<Play digits="w123#"/>`` (DTMF tones) or ``<Play>url</Play>`` (an audio file)."""

    digits: str | None = None
    url: str | None = None
    loop: int = 1


@dataclass(frozen=True)
class Pause:
    """``<Pause length="n"/>``: silence for n seconds."""

    length_s: float = 1.0


@dataclass(frozen=True)
class Hangup:
    """``<Hangup/>``: end the call."""


@dataclass(frozen=True)
class Reject:
    """``<Reject reason="busy|rejected"/>``: refuse an inbound call without answering it."""

    reason: str = "rejected"


@dataclass(frozen=True)
class Dial:
    """``<Dial>+1…</Dial>`` or ``<Dial><Number>+1…</Number></Dial>``: bridge the call to another number."""

    number: str
    action: str | None = None
    method: str = "POST"
    timeout_s: int = 30
    caller_id: str | None = None


@dataclass(frozen=True)
class Redirect:
    """``<Redirect method=…>url</Redirect>``: fetch new TwiML from ``url`` and follow it."""

    url: str
    method: str = "POST"


@dataclass(frozen=True)
class Unsupported:
    """A verb the sim does not model (Twilio would run it; the sim records it and skips it)."""

    tag: str


Verb = Connect | Say | Play | Pause | Hangup | Reject | Dial | Redirect | Unsupported


def _int_attr(el: ET.Element, name: str, default: int) -> int:
    raw = el.get(name)
    try:
        return int(raw) if raw is not None else default
    except ValueError as exc:
        raise TwimlError(f"<{el.tag} {name}={raw!r}> is not a number") from exc


def _stream(el: ET.Element) -> StreamSpec:
    url = el.get("url")
    if not url:
        raise TwimlError("<Stream> needs a url attribute")
    params = {p.get("name", ""): p.get("value", "") for p in el if p.tag == "Parameter"}
    return StreamSpec(url=url, name=el.get("name"), parameters=params)


def _verb(el: ET.Element) -> Verb:
    text = (el.text or "").strip()
    method = el.get("method", "POST").upper()
    match el.tag:
        case "Connect":
            streams = [child for child in el if child.tag == "Stream"]
            return Connect(
                stream=_stream(streams[0]) if streams else None, action=el.get("action"), method=method
            )
        case "Say":
            return Say(text=text, loop=_int_attr(el, "loop", 1))
        case "Play":
            return Play(digits=el.get("digits"), url=text or None, loop=_int_attr(el, "loop", 1))
        case "Pause":
            return Pause(length_s=float(_int_attr(el, "length", 1)))
        case "Hangup":
            return Hangup()
        case "Reject":
            return Reject(reason=el.get("reason", "rejected"))
        case "Dial":
            numbers = [(child.text or "").strip() for child in el if child.tag in ("Number", "Sip", "Client")]
            number = numbers[0] if numbers else text
            if not number:
                raise TwimlError("<Dial> names no number")
            return Dial(
                number=number,
                action=el.get("action"),
                method=method,
                timeout_s=_int_attr(el, "timeout", 30),
                caller_id=el.get("callerId"),
            )
        case "Redirect":
            if not text:
                raise TwimlError("<Redirect> names no URL")
            return Redirect(url=text, method=method)
        case _:
            return Unsupported(tag=el.tag)


def parse_twiml(document: str) -> list[Verb]:
    """The verbs of a ``<Response>`` document, in order; raises :class:`TwimlError` if it is not TwiML."""
    try:
        root = ET.fromstring(document.strip())
    except ET.ParseError as exc:
        raise TwimlError(f"not XML: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(f"root element is <{root.tag}>, not <Response>")
    return [_verb(child) for child in root]
