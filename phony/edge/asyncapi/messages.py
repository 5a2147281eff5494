"""The messages, from the code's own registries: one per event type (``phony.events.REGISTRY``, in its
stored and its public envelope), one per member of the command union, the audio topic's two forms."""

from __future__ import annotations

import typing

from pydantic import BaseModel

from phony.commands import AnyCommand
from phony.commands.audio import AudioFrame
from phony.edge.asyncapi.components import Components, Schema, array_form, ref
from phony.edge.asyncapi.parts import Obj, described
from phony.events import EVENT_CLASSES, EventData, EventEnvelope
from phony.events.upcasters import UPCASTERS

ENVELOPE = "EventEnvelope"
PUBLIC_ENVELOPE = "PublicEventEnvelope"
KAFKA_BINDING = "0.5.0"


def kafka_key(description: str) -> Obj:
    """The Kafka binding of a message keyed by a string."""
    return {"kafka": {"key": {"type": "string", "description": description}, "bindingVersion": KAFKA_BINDING}}


def command_classes() -> tuple[type[BaseModel], ...]:
    """The members of :data:`~phony.commands.AnyCommand`, in its order."""
    union, *_ = typing.get_args(AnyCommand)
    return typing.get_args(union)


def command_type(cls: type[BaseModel]) -> str:
    """The ``type`` discriminator of a command class."""
    value = cls.model_fields["type"].default
    assert isinstance(value, str)
    return value


def older_versions(cls: type[EventData]) -> list[int]:
    """The versions of ``cls``'s type the log may still hold, upcast when read."""
    return sorted(version for (name, version) in UPCASTERS if name == cls.TYPE)


def _versions(versions: list[int]) -> str:
    return ", ".join(f"v{v}" for v in versions)


def envelopes(components: Components) -> None:
    """The envelope as stored on the events topic and as served to clients (without its internal
    causation fields)."""
    [stored] = components.add_models([EventEnvelope], by_alias=True).values()
    assert stored == ref(ENVELOPE)
    schema = components.schemas[ENVELOPE]
    hidden = EventEnvelope.INTERNAL_FIELDS
    public = {
        **schema,
        "title": PUBLIC_ENVELOPE,
        "properties": {k: v for k, v in schema["properties"].items() if k not in hidden},
        "required": [k for k in schema.get("required", []) if k not in hidden],
    }
    components.add(PUBLIC_ENVELOPE, public)


def event_messages(components: Components, *, public: bool) -> dict[str, Obj]:
    """One message per registered event type (only call events when ``public``: the WebSocket
    streams calls), its payload the envelope with that type's ``data``."""
    classes = [cls for cls in EVENT_CLASSES if not public or cls.AGGREGATE == "call"]
    data = components.add_models(classes, by_alias=True)  # as envelope_for dumps them
    envelope = ref(PUBLIC_ENVELOPE if public else ENVELOPE)
    messages: dict[str, Obj] = {}
    for cls in classes:
        older = older_versions(cls)
        version: Schema = {"const": cls.VERSION}
        if older and not public:
            # The log keeps what older builds wrote; readers upcast it (phony.events.upcasters).
            version["description"] = (
                f"this build writes v{cls.VERSION}; the log may also hold {_versions(older)}"
            )
        typed: Schema = {
            "type": "object",
            "properties": {
                "type": {"const": cls.TYPE},
                "version": version,
                "aggregate_type": {"const": cls.AGGREGATE},
                "data": data[cls],
            },
        }
        message: Obj = {
            "name": cls.TYPE,
            "title": f"{cls.TYPE} v{cls.VERSION}",
            **described(cls),
            "contentType": "application/json",
            "payload": {"allOf": [envelope, typed]},
            "x-event-type": cls.TYPE,
            "x-event-version": cls.VERSION,
        }
        if older:
            message["x-upcast-from"] = older
        if not public:
            message["bindings"] = kafka_key(f"aggregate_id (the {cls.AGGREGATE}'s id)")
        messages[f"{'publicEvent' if public else 'event'}.{cls.__name__}"] = message
    return messages


def command_messages(components: Components) -> dict[str, Obj]:
    """One message per member of the command union. Commands go out as ``model_dump_json()``, which
    writes field names, not aliases (``from_``); the union is parsed on ``type``."""
    classes = command_classes()
    schemas = components.add_models(classes, by_alias=False)
    return {
        f"command.{cls.__name__}": {
            "name": command_type(cls),
            "title": command_type(cls),
            **described(cls),
            "contentType": "application/json",
            "payload": schemas[cls],
            "bindings": kafka_key("aggregate_id (PlaceCall: its request id; the call has no CallSid yet)"),
            "x-command-type": command_type(cls),
        }
        for cls in classes
    }


AUDIO_KINDS: dict[str, tuple[str, str]] = {
    "a": ("CallerAudio", "20 ms of the caller's audio: payload is base64 μ-law 8 kHz, as Twilio sent it"),
    "m": ("MarkPlayed", "Twilio played everything before a mark: payload is the mark's name"),
}


def audio_messages(components: Components) -> dict[str, Obj]:
    """The audio topic's compact array form of :class:`~phony.commands.audio.AudioFrame`, per kind."""
    kinds = typing.get_args(typing.get_type_hints(AudioFrame)["kind"])
    messages: dict[str, Obj] = {}
    for kind in kinds:
        name, summary = AUDIO_KINDS[kind]
        payload = components.add(
            f"AudioFrame.{name}", {"title": name, **array_form(AudioFrame, {"kind": kind})}
        )
        messages[f"audio.{name}"] = {
            "name": name,
            "title": f"AudioFrame {kind!r}",
            "summary": summary,
            "description": described(AudioFrame).get("description", summary),
            "contentType": "application/json",
            "payload": payload,
            "bindings": kafka_key("the call's CallSid"),
        }
    return messages
