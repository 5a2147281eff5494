"""Client events in: parsed once at the edge, refused the way the Realtime API refuses them.

``input_audio_buffer.append`` arrives ~50 times a second per call, so it takes a dict-and-base64
fast path. Every other event is validated with the ``openai`` package's own client-event model for
its ``type``, then checked for parameters the API does not know (the SDK's models accept extra
fields; the API answers them with ``unknown_parameter``, e.g. a beta-era ``session.temperature``).
"""

from __future__ import annotations

import binascii
import json
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from openai import BaseModel
from openai.types.realtime import (
    ConversationItemCreateEvent,
    ConversationItemDeleteEvent,
    ConversationItemRetrieveEvent,
    ConversationItemTruncateEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    OutputAudioBufferClearEvent,
    ResponseCancelEvent,
    ResponseCreateEvent,
    SessionUpdateEvent,
)
from pydantic import ValidationError

APPEND = "input_audio_buffer.append"
_APPEND_FIELDS = frozenset({"type", "audio", "event_id"})
# One model per client event type: validating against the whole union would report every member's
# complaint; the API's error names one parameter.
CLIENT_EVENT_MODELS: MappingProxyType[str, type[BaseModel]] = MappingProxyType(
    {
        "session.update": SessionUpdateEvent,
        APPEND: BaseModel,  # never validated: see parse_client_event
        "input_audio_buffer.commit": InputAudioBufferCommitEvent,
        "input_audio_buffer.clear": InputAudioBufferClearEvent,
        "output_audio_buffer.clear": OutputAudioBufferClearEvent,
        "conversation.item.create": ConversationItemCreateEvent,
        "conversation.item.retrieve": ConversationItemRetrieveEvent,
        "conversation.item.truncate": ConversationItemTruncateEvent,
        "conversation.item.delete": ConversationItemDeleteEvent,
        "response.create": ResponseCreateEvent,
        "response.cancel": ResponseCancelEvent,
    }
)
# In pydantic's error locations, union members appear as tags (class names, "int", "literal[...]").
_FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_UNION_TAGS = frozenset({"int", "str", "float", "bool", "none", "list", "dict", "function", "mcp"})


class ClientError(Exception):
    """A client event the API would refuse: becomes an ``error`` event; the session stays open."""

    def __init__(
        self,
        message: str,
        code: str | None,
        param: str | None = None,
        event_id: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.event_id = event_id
        self.error_type = error_type


@dataclass(frozen=True, slots=True)
class AppendAudio:
    """A decoded ``input_audio_buffer.append``."""

    audio: bytes
    event_id: str | None


ClientEvent = AppendAudio | BaseModel


def decode_json(text: str | bytes) -> dict[str, Any]:
    """The JSON object of a client message, or :class:`ClientError` when it is not one."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ClientError(f"Invalid JSON in client event: {exc}", "invalid_json") from None
    if not isinstance(data, dict):
        raise ClientError("Client events must be JSON objects.", "invalid_json")
    return data


def parse_client_event(data: dict[str, Any]) -> ClientEvent:
    """The parsed event, or :class:`ClientError` worded as the API words it."""
    event_id = data.get("event_id") if isinstance(data.get("event_id"), str) else None
    kind = data.get("type")
    if kind == APPEND:
        return _parse_append(data, event_id)
    if kind is None:
        raise ClientError(
            "Missing required parameter: 'type'.", "missing_required_parameter", "type", event_id
        )
    model = CLIENT_EVENT_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        supported = ", ".join(f"'{t}'" for t in CLIENT_EVENT_MODELS)
        raise ClientError(
            f"Invalid value: '{kind}'. Supported values are: {supported}.", "invalid_value", "type", event_id
        )
    try:
        event = model.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, event_id) from None
    unknown = first_unknown_parameter(event)
    if unknown is not None:
        raise ClientError(f"Unknown parameter: '{unknown}'.", "unknown_parameter", unknown, event_id)
    return event


def _parse_append(data: dict[str, Any], event_id: str | None) -> AppendAudio:
    extra = data.keys() - _APPEND_FIELDS
    if extra:
        name = sorted(extra)[0]
        raise ClientError(f"Unknown parameter: '{name}'.", "unknown_parameter", name, event_id)
    encoded = data.get("audio")
    if not isinstance(encoded, str):
        raise ClientError(
            "Missing required parameter: 'audio'.", "missing_required_parameter", "audio", event_id
        )
    try:
        return AppendAudio(binascii.a2b_base64(encoded, strict_mode=True), event_id)
    except binascii.Error:
        raise ClientError(
            "Invalid 'audio'. Expected base64-encoded audio bytes.", "invalid_value", "audio", event_id
        ) from None


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _FIELD_NAME.match(part) and part not in _UNION_TAGS:
            out += f".{part}" if out else part
    return out


def _validation_error(exc: ValidationError, event_id: str | None) -> ClientError:
    err = exc.errors()[0]
    path = _path(err["loc"])
    if err["type"] == "missing":
        return ClientError(
            f"Missing required parameter: '{path}'.", "missing_required_parameter", path, event_id
        )
    if err["type"] in ("literal_error", "enum"):
        expected = (err.get("ctx") or {}).get("expected", "")
        return ClientError(
            f"Invalid value: '{err['input']}'. Supported values are: {expected}.",
            "invalid_value",
            path,
            event_id,
        )
    return ClientError(f"Invalid type for '{path}': {err['msg']}.", "invalid_type", path, event_id)


def first_unknown_parameter(model: BaseModel, prefix: str = "") -> str | None:
    """Dotted path of the first field the API's schema does not have, or None."""
    for name in model.model_extra or {}:
        return f"{prefix}.{name}" if prefix else name
    for name, field in type(model).model_fields.items():
        key = field.alias or name
        found = _unknown_in(getattr(model, name), f"{prefix}.{key}" if prefix else key)
        if found is not None:
            return found
    return None


def _unknown_in(value: object, path: str) -> str | None:
    if isinstance(value, BaseModel):
        return first_unknown_parameter(value, path)
    if isinstance(value, list):
        for i, element in enumerate(value):
            found = _unknown_in(element, f"{path}[{i}]")
            if found is not None:
                return found
    return None
