"""What the model is told: instructions from the agent and the call, and the GA session settings."""

from __future__ import annotations

from typing import Any

from phony.config import Settings
from phony.events.agents import AgentSettings
from phony.workers.calls.llm_commands import TOOLS
from phony.workers.calls.state import NOTE, CallState

COMMANDS_HELP = (
    "You can act on the call with your tools: end_call (after saying goodbye), transfer_call "
    "(only to the numbers you were given), press_digits, and request_user (ask your supervisor). "
    "If you cannot call tools, write the command in double brackets instead, e.g. [[end_call]], "
    "[[transfer:+15551234567]], [[press:123#]], [[request_user:question]]; never say them aloud."
)


def verbatim(text: str) -> str:
    """Instructions that make the model say ``text`` word for word (greeting, supervisor text)."""
    return f"Say exactly the following to the caller, word for word, and nothing else: «{text}»"


def instructions(agent: AgentSettings, call: CallState) -> str:
    """The session instructions: the agent's prompt, greeting, languages, commands, call metadata."""
    parts = [agent.system_prompt.strip()]
    if agent.greeting_message:
        parts.append(f"You greet the caller with: {agent.greeting_message}")
    if agent.supported_languages:
        langs = ", ".join(agent.supported_languages)
        parts.append(
            f"Speak the caller's language if it is one of: {langs}; "
            f"otherwise use {agent.supported_languages[0]}."
            if agent.language_detection
            else f"Speak {agent.supported_languages[0]}."
        )
    parts.append(COMMANDS_HELP)
    if agent.transfer_allowlist:
        parts.append("Transfers are allowed to: " + ", ".join(agent.transfer_allowlist) + ".")
    meta = {
        "direction": call.direction,
        "from": call.from_number,
        "to": call.to_number,
        **({"scenario": call.scenario} if call.scenario else {}),
        **{str(k): str(v) for k, v in call.metadata.items()},
    }
    parts.append("Call metadata:\n" + "\n".join(f"- {k}: {v}" for k, v in meta.items()))
    return "\n\n".join(parts)


def turn_detection(settings: Settings, *, replies: bool) -> dict[str, Any]:
    """Server VAD; ``replies``: the model answers each caller turn by itself (off while the AI waits
    for its supervisor: the caller is still heard and transcribed)."""
    return {
        "type": "server_vad",
        "silence_duration_ms": settings.vad_silence_ms,
        "create_response": replies,
        "interrupt_response": replies,
    }


def paused_replies(settings: Settings, paused: bool) -> dict[str, Any]:
    """The ``session.update`` body that pauses (or resumes) the model's own replies."""
    detection = turn_detection(settings, replies=not paused)
    return {"type": "realtime", "audio": {"input": {"turn_detection": detection}}}


def session_config(settings: Settings, agent: AgentSettings, call: CallState) -> dict[str, Any]:
    """The GA ``session.update`` body: μ-law in and out (no transcoding), server VAD, transcription,
    the tools. GA sessions have no ``temperature``; the agent's temperature applies where the model
    accepts one and is otherwise kept for the record."""
    session: dict[str, Any] = {
        "type": "realtime",
        "model": agent.model,
        "instructions": instructions(agent, call),
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "format": {"type": "audio/pcmu"},
                "transcription": {"model": settings.transcription_model},
                "turn_detection": turn_detection(settings, replies=not call.paused),
            },
            "output": {"format": {"type": "audio/pcmu"}, "voice": agent.voice},
        },
        "include": ["item.input_audio_transcription.logprobs"],  # a caller turn's confidence
        "tools": TOOLS,
        "tool_choice": "auto",
        "max_output_tokens": agent.max_tokens or "inf",
    }
    if agent.supported_languages and not agent.language_detection:
        session["audio"]["input"]["transcription"]["language"] = agent.supported_languages[0][:2]
    return session


def history_items(transcript: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The conversation so far as ``conversation.item.create`` items, for a session opened for a
    call in progress: the caller's turns as user messages, what the AI said (its own replies and the
    supervisor's words it spoke) as assistant messages, what the model was told as system messages."""
    items: list[dict[str, Any]] = []
    for speaker, text in transcript:
        if speaker == "caller":
            role, kind = "user", "input_text"
        elif speaker == NOTE:
            role, kind = "system", "input_text"
        else:
            role, kind = "assistant", "output_text"
        items.append({"type": "message", "role": role, "content": [{"type": kind, "text": text}]})
    return items
