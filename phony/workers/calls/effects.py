"""What a call's decisions ask the world to do, as data: the executor carries each out, apart from
the decision, and what comes back (done, refused, failed) is the call's next input."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from phony.commands.playback import PlaybackMessage

# ---------------------------------------------------------------- the model session


@dataclass(frozen=True, slots=True)
class OpenSession:
    """Connect a model session and configure it: ``session`` is the ``session.update`` body, ``items``
    the conversation so far (a restore), ``then`` what to send once it is set up."""

    model: str
    session: dict[str, Any]
    items: tuple[dict[str, Any], ...] = ()
    then: tuple[ModelEffect, ...] = ()


@dataclass(frozen=True, slots=True)
class CloseSession:
    """Close the model session (the call ended, or this worker no longer owns it)."""


@dataclass(frozen=True, slots=True)
class CreateResponse:
    """``response.create``: ``instructions`` None lets the model answer as it would."""

    instructions: str | None = None


@dataclass(frozen=True, slots=True)
class CancelResponse:
    """``response.cancel`` of the response streaming now."""


@dataclass(frozen=True, slots=True)
class AddItem:
    """``conversation.item.create`` (a system message, a function call's output)."""

    item: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UpdateSession:
    """``session.update`` with a partial session (pausing or resuming the model's own replies)."""

    session: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Truncate:
    """``conversation.item.truncate``: the caller heard ``audio_end_ms`` of the item's audio."""

    item_id: str
    audio_end_ms: int


ModelEffect = CreateResponse | CancelResponse | AddItem | UpdateSession | Truncate

# ---------------------------------------------------------------- the caller, Twilio, storage


@dataclass(frozen=True, slots=True)
class Play:
    """Send a message down the call's playback channel to the edge holding its Twilio socket."""

    message: PlaybackMessage


@dataclass(frozen=True, slots=True)
class HangUp:
    """Complete the call at Twilio (nothing comes back: the call has ended either way)."""


@dataclass(frozen=True, slots=True)
class Transfer:
    """Redirect the call to ``target`` (``<Dial>``); comes back as ``TelephonyDone``/``Failed``."""

    target: str
    by: str
    command_id: str | None = None


@dataclass(frozen=True, slots=True)
class PlayDigits:
    """Send DTMF on the line, then reconnect the stream with ``parameters``."""

    digits: str
    by: str
    parameters: dict[str, str] = field(default_factory=dict)
    command_id: str | None = None


@dataclass(frozen=True, slots=True)
class AskStatus:
    """Ask Twilio how the call stands after ``seconds``; comes back as the ``UpdateCallStatus`` its
    status callback would have been (``failed`` for a call Twilio does not know). A callback Twilio
    sent while no Phony could take it (the whole server down: the call's media stream went with it,
    and Twilio hung up) is otherwise never heard, and the call would stay live for ever."""

    seconds: float


@dataclass(frozen=True, slots=True)
class SaveAudio:
    """Store a reply's audio (the call's recording and the reply's ``audio_url``)."""

    response_id: str
    start_ms: int
    audio: bytes


@dataclass(frozen=True, slots=True)
class After:
    """Feed ``then`` back to the call after ``seconds`` (a bounded wait)."""

    seconds: float
    then: Any  # a CallInput (kept loose here to avoid a cycle with inputs)


Effect = (
    OpenSession
    | CloseSession
    | ModelEffect
    | Play
    | HangUp
    | Transfer
    | PlayDigits
    | AskStatus
    | SaveAudio
    | After
)
