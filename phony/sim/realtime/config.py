"""A session's configuration as the server keeps it: the API's defaults, merged with each update.

The session object is kept as the JSON the server echoes in ``session.created`` / ``session.updated``
(plain dicts: it is sent, not computed with). What the simulator acts on is read out of it into small
frozen values once per update, never per audio frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from phony.sim.realtime.codec import AudioCodec, codec_named
from phony.sim.realtime.vad import VadSettings

JsonObject = dict[str, Any]

DEFAULT_INSTRUCTIONS = (
    "Your knowledge cutoff is 2023-10. You are a helpful, witty, and friendly AI. Act like a human."
)
SESSION_LIFETIME_S = 60 * 60  # GA sessions last at most 60 minutes
# Leaf objects a session.update replaces whole: merging {"type": "audio/pcmu"} into a PCM format
# would keep PCM's "rate", and a turn_detection update starts again from its type's defaults.
_REPLACED_WHOLE = frozenset({"format", "turn_detection", "transcription", "noise_reduction", "tracing"})
# Semantic VAD has no silence knob; its eagerness stands for one.
_EAGERNESS_SILENCE_MS = MappingProxyType({"low": 800, "medium": 500, "auto": 500, "high": 250})


def server_vad_defaults() -> JsonObject:
    """``turn_detection`` as the API fills it for ``server_vad``."""
    return {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    }


def default_session(session_id: str, model: str) -> JsonObject:
    """The session a new connection gets, as ``session.created`` reports it."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "prompt": None,
        "expires_at": int(time.time()) + SESSION_LIFETIME_S,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": server_vad_defaults(),
            },
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin", "speed": 1.0},
        },
        "include": None,
    }


def _normalise_turn_detection(value: JsonObject | None) -> JsonObject | None:
    if value is None:
        return None
    if value.get("type") == "semantic_vad":
        base: JsonObject = {
            "type": "semantic_vad",
            "eagerness": "auto",
            "create_response": True,
            "interrupt_response": True,
        }
    else:
        base = server_vad_defaults()
    base.update({k: v for k, v in value.items() if v is not None})
    return base


def merge_session(current: JsonObject, update: JsonObject) -> JsonObject:
    """``current`` with a ``session.update``'s fields applied (only the fields the client sent)."""
    merged = dict(current)
    for key, value in update.items():
        if key == "turn_detection":
            merged[key] = _normalise_turn_detection(value)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in _REPLACED_WHOLE:
            merged[key] = merge_session(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class TurnDetection:
    """What the server's turn detection does, read out of ``audio.input.turn_detection``."""

    vad: VadSettings
    create_response: bool
    interrupt_response: bool


@dataclass(frozen=True)
class SessionSettings:
    """The parts of the session the simulator acts on."""

    instructions: str
    input_codec: AudioCodec
    output_codec: AudioCodec
    voice: str
    turn_detection: TurnDetection | None
    transcription_model: str | None
    output_modalities: tuple[str, ...]
    function_names: frozenset[str]
    tool_choice: Any


def _or(value: Any, default: float) -> float:
    return default if value is None else float(value)


def _turn_detection(value: JsonObject | None) -> TurnDetection | None:
    if not value:
        return None
    if value.get("type") == "semantic_vad":
        silence = _EAGERNESS_SILENCE_MS.get(str(value.get("eagerness")), 500)
        vad = VadSettings(silence_duration_ms=silence)
    else:
        defaults = VadSettings()
        vad = VadSettings(
            threshold=float(_or(value.get("threshold"), defaults.threshold)),
            prefix_padding_ms=int(_or(value.get("prefix_padding_ms"), defaults.prefix_padding_ms)),
            silence_duration_ms=int(_or(value.get("silence_duration_ms"), defaults.silence_duration_ms)),
        )
    return TurnDetection(
        vad=vad,
        create_response=value.get("create_response") is not False,
        interrupt_response=value.get("interrupt_response") is not False,
    )


def function_names(tools: Any) -> frozenset[str]:
    """Names of the ``function`` tools in a tools list (the only tools the fake model calls)."""
    if not isinstance(tools, list):
        return frozenset()
    return frozenset(
        str(t["name"]) for t in tools if isinstance(t, dict) and t.get("type", "function") == "function"
    )


def read_settings(session: JsonObject) -> SessionSettings:
    """Read the simulator's working settings out of the session object."""
    audio_cfg = session.get("audio") or {}
    inp = audio_cfg.get("input") or {}
    out = audio_cfg.get("output") or {}
    transcription = inp.get("transcription")
    return SessionSettings(
        instructions=str(session.get("instructions") or ""),
        input_codec=codec_named((inp.get("format") or {}).get("type")),
        output_codec=codec_named((out.get("format") or {}).get("type")),
        voice=str(out.get("voice") or "marin"),
        turn_detection=_turn_detection(inp.get("turn_detection")),
        transcription_model=str(transcription.get("model") or "whisper-1") if transcription else None,
        output_modalities=tuple(session.get("output_modalities") or ("audio",)),
        function_names=function_names(session.get("tools")),
        tool_choice=session.get("tool_choice", "auto"),
    )
