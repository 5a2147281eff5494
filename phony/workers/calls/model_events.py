"""The OpenAI Realtime server events a call's worker acts on, parsed once where they enter the process.

One discriminated union on ``type``, of small frozen models holding only the fields the worker uses
(nested ids flattened: ``response.id`` is ``response_id``). A field the ``openai`` package declares
required is required here; one it declares optional has a default. Fields the worker does not use
are ignored, so the API adding some breaks nothing.

The hot path is the model's audio: ``response.output_audio.delta`` arrives dozens of times a second
per call, so it becomes a slotted dataclass by plain key access after one JSON parse, without
pydantic validation. The parse is ``pydantic_core.from_json``: 2-4x faster than ``json.loads`` on
these messages (``bench/model_events.py`` measures it beside the alternatives).

The beta protocol's names for audio and its words (``response.audio.delta``,
``response.audio_transcript.*``, ``response.text.*``) map to the same classes as the GA names.

Types the worker does not act on (``rate_limits.updated``, ``conversation.item.added``, ...) parse to
``None``; a message that is not a JSON object with a ``type``, or an event of a type the worker acts
on without the fields it needs, raises :class:`BadModelEvent`, which the caller logs and skips.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import from_json

__all__ = [
    "AUDIO_DELTA_TYPES",
    "AudioDelta",
    "BadModelEvent",
    "FunctionCallDone",
    "KnownModelEvent",
    "ModelError",
    "ModelEvent",
    "OutputItemAdded",
    "ResponseCreated",
    "ResponseDone",
    "SessionReady",
    "SpeechStarted",
    "SpeechStopped",
    "TokenLogprob",
    "TranscriptDelta",
    "TranscriptDone",
    "TranscriptionCompleted",
    "parse_server_event",
]


class _Model(BaseModel):
    # By name as well as by the wire's (nested) alias, so code and tests can build events directly.
    model_config = ConfigDict(frozen=True, extra="ignore", validate_by_name=True, validate_by_alias=True)


class SessionReady(_Model):
    """``session.created`` or ``session.updated``: the session is (re)configured."""

    type: Literal["session.created", "session.updated"] = "session.created"


class SpeechStarted(_Model):
    """``input_audio_buffer.speech_started``: the caller started talking (a barge-in if the model is)."""

    type: Literal["input_audio_buffer.speech_started"] = "input_audio_buffer.speech_started"


class SpeechStopped(_Model):
    """``input_audio_buffer.speech_stopped``: the caller stopped talking (turn latency starts here)."""

    type: Literal["input_audio_buffer.speech_stopped"] = "input_audio_buffer.speech_stopped"


class TokenLogprob(_Model):
    """One token of a transcript and its log probability."""

    token: str
    logprob: float


class TranscriptionCompleted(_Model):
    """``conversation.item.input_audio_transcription.completed``: what the caller said in a turn, with
    the tokens' log probabilities when the session includes them."""

    type: Literal["conversation.item.input_audio_transcription.completed"] = (
        "conversation.item.input_audio_transcription.completed"
    )
    item_id: str
    transcript: str
    logprobs: tuple[TokenLogprob, ...] | None = None


class ResponseCreated(_Model):
    """``response.created``: the model started a response."""

    type: Literal["response.created"] = "response.created"
    response_id: str = Field(validation_alias=AliasPath("response", "id"))


class OutputItemAdded(_Model):
    """``response.output_item.added``: a response's output item (``message``, ``function_call``, ...)
    began; a message's ``item_id`` is what a barge-in truncates."""

    type: Literal["response.output_item.added"] = "response.output_item.added"
    response_id: str
    item_id: str | None = Field(default=None, validation_alias=AliasPath("item", "id"))
    item_type: str = Field(validation_alias=AliasPath("item", "type"))


class TranscriptDelta(_Model):
    """A piece of a response's words: the transcript of its audio, or its text when it has no audio."""

    type: Literal[
        "response.output_audio_transcript.delta",
        "response.output_text.delta",
        "response.audio_transcript.delta",
        "response.text.delta",
    ] = "response.output_audio_transcript.delta"
    response_id: str
    item_id: str
    delta: str


class TranscriptDone(_Model):
    """A response's words in full (``transcript`` on the wire for audio, ``text`` for text)."""

    type: Literal[
        "response.output_audio_transcript.done",
        "response.output_text.done",
        "response.audio_transcript.done",
        "response.text.done",
    ] = "response.output_audio_transcript.done"
    response_id: str
    item_id: str
    transcript: str = Field(validation_alias=AliasChoices("transcript", "text"))


class FunctionCallDone(_Model):
    """``response.function_call_arguments.done``: the model called a tool; ``arguments`` is its JSON
    text as the model wrote it (it may not parse)."""

    type: Literal["response.function_call_arguments.done"] = "response.function_call_arguments.done"
    response_id: str
    call_id: str
    name: str
    arguments: str


class ResponseDone(_Model):
    """``response.done``: a response ended; ``status`` is ``completed``, ``cancelled``, ``failed`` or
    ``incomplete`` (kept a string, so that a status the API adds does not lose the event)."""

    type: Literal["response.done"] = "response.done"
    response_id: str = Field(validation_alias=AliasPath("response", "id"))
    status: str | None = Field(default=None, validation_alias=AliasPath("response", "status"))


class ModelError(_Model):
    """``error``: the API refused a client event or failed."""

    type: Literal["error"] = "error"
    error_type: str = Field(validation_alias=AliasPath("error", "type"))
    code: str | None = Field(default=None, validation_alias=AliasPath("error", "code"))
    message: str = Field(validation_alias=AliasPath("error", "message"))


@dataclass(frozen=True, slots=True)
class AudioDelta:
    """``response.output_audio.delta``: a chunk of a response's audio, base64 as the API sent it (the
    worker forwards it to the caller as it is)."""

    response_id: str
    item_id: str
    delta: str


KnownModelEvent: TypeAlias = Annotated[
    SessionReady
    | SpeechStarted
    | SpeechStopped
    | TranscriptionCompleted
    | ResponseCreated
    | OutputItemAdded
    | TranscriptDelta
    | TranscriptDone
    | FunctionCallDone
    | ResponseDone
    | ModelError,
    Field(discriminator="type"),
]
"""The events parsed by pydantic: every one the worker acts on but the audio deltas."""

ModelEvent: TypeAlias = KnownModelEvent | AudioDelta
"""A server event the worker acts on."""

AUDIO_DELTA_TYPES = frozenset({"response.output_audio.delta", "response.audio.delta"})
"""The names of an audio delta: GA's and the beta's."""

_ADAPTER: TypeAdapter[KnownModelEvent] = TypeAdapter(KnownModelEvent)


def _types_of(union: Any) -> frozenset[str]:
    """Every ``type`` value a class of the union accepts (read off the classes, so never out of step)."""
    members = typing.get_args(typing.get_args(union)[0])
    return frozenset(v for cls in members for v in typing.get_args(cls.model_fields["type"].annotation))


_PYDANTIC_TYPES = _types_of(KnownModelEvent)


class BadModelEvent(ValueError):
    """A server message the worker cannot use: not a JSON object with a string ``type``, or an event
    of a type it acts on without the fields it needs. ``event_type`` is the type, when there is one."""

    def __init__(self, event_type: str | None, reason: str) -> None:
        super().__init__(f"bad server event {event_type or '(no type)'}: {reason}")
        self.event_type = event_type
        self.reason = reason


def parse_server_event(raw: bytes | str) -> ModelEvent | None:
    """The server event in ``raw`` (one WebSocket message), or ``None`` if the worker ignores its type.

    Raises :class:`BadModelEvent` for a message it cannot use (see there)."""
    try:
        data = from_json(raw)
    except ValueError as exc:
        raise BadModelEvent(None, f"not JSON: {exc}") from exc
    kind = data.get("type") if isinstance(data, dict) else None
    if type(kind) is not str:
        raise BadModelEvent(None, "not a JSON object with a string type")
    if kind in AUDIO_DELTA_TYPES:
        return _audio_delta(kind, data)
    if kind not in _PYDANTIC_TYPES:
        return None
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise BadModelEvent(kind, _first_error(exc)) from exc


def _audio_delta(kind: str, data: dict[str, Any]) -> AudioDelta:
    response_id, item_id, delta = data.get("response_id"), data.get("item_id"), data.get("delta")
    if type(response_id) is not str or type(item_id) is not str or type(delta) is not str:
        raise BadModelEvent(kind, "response_id, item_id and delta must be strings")
    return AudioDelta(response_id, item_id, delta)


def _first_error(exc: ValidationError) -> str:
    # The first error's place past the union's tag (``response.id``, not ``response.done.response.id``).
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"][1:]) or "event"
    more = exc.error_count() - 1
    return f"{where}: {error['msg']}" + (f" (and {more} more)" if more else "")
