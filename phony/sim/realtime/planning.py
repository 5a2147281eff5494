"""Deciding what a new response says: the script's reply, in the session's voice, format and tools."""

from __future__ import annotations

from typing import Any

from openai.types.realtime import RealtimeResponseCreateParams

from phony.sim.realtime.codec import SpeechCache
from phony.sim.realtime.config import JsonObject, SessionSettings, function_names
from phony.sim.realtime.conversation import Conversation
from phony.sim.realtime.items import item_text
from phony.sim.realtime.response import ResponsePlan
from phony.sim.realtime.script import Script, tool_arguments
from phony.sim.scenarios import speech_ms


def is_new_input(item: JsonObject | None) -> bool:
    """Whether ``item`` is a tool result or a system message (a supervisor's note, say).

    Either moves the script on to its next AI line (the answer to a supervisor's reply) rather than
    answering the caller's current turn again. A user message is not new input in this sense: it is
    a caller turn (see :func:`count_client_message`), answered with its own line.
    """
    if item is None:
        return False
    if item.get("type") == "function_call_output":
        return True
    parts = item.get("content") or []
    return item.get("role") == "system" and any(p.get("type") == "input_text" for p in parts)


def follows_new_input(conversation: Conversation) -> bool:
    """Whether the conversation ends with new input (:func:`is_new_input`)."""
    return is_new_input(conversation.last())


def count_client_message(script: Script, conversation: Conversation, item: JsonObject) -> None:
    """Move the script past a message the client put in the conversation (already added to it).

    A worker that takes a call over restores the conversation so far this way, and a real model reads
    it as the call's history: a user message is a caller turn heard, an assistant message a reply
    given. System messages and tool results move nothing; the response that follows them does.
    """
    if item.get("type") != "message":
        return
    if item.get("role") == "user":
        script.caller_turn_restored()
    elif item.get("role") == "assistant":
        script.reply_restored(is_new_input(conversation.before(str(item["id"]))))


def may_call(name: str, settings: SessionSettings, params: RealtimeResponseCreateParams | None) -> bool:
    """The model only calls functions it was given, and none when ``tool_choice`` is ``"none"``."""
    tools: frozenset[str] = settings.function_names
    choice: Any = settings.tool_choice
    if params is not None and params.tools is not None:
        tools = function_names([t.model_dump(mode="json") for t in params.tools])
    if params is not None and params.tool_choice is not None:
        choice = params.tool_choice
    return choice != "none" and name in tools


def plan_response(
    script: Script,
    settings: SessionSettings,
    session: JsonObject,
    conversation: Conversation,
    speech: SpeechCache,
    params: RealtimeResponseCreateParams | None,
    committed_audio_ms: int,
) -> ResponsePlan:
    """The next response of a session, for ``response.create`` (``params``) or a detected turn (None)."""
    reply = script.reply(
        settings.instructions, params.instructions if params else None, follows_new_input(conversation)
    )
    modalities = (params.output_modalities if params else None) or settings.output_modalities
    audio = None
    if "audio" in modalities:
        audio = speech.speech(reply.text, settings.output_codec, speech_ms(reply.text))
    tool_name = tool_args = None
    if reply.tool is not None and may_call(reply.tool.name, settings, params):
        tool_name, tool_args = reply.tool.name, tool_arguments(reply.tool, settings.instructions)
    # ~4 characters a token over the instructions and every item's words; input audio ~10 tokens/s.
    context_chars = len(settings.instructions) + sum(len(item_text(i)) for i in conversation.items)
    return ResponsePlan(
        text=reply.text,
        audio=audio,
        codec=settings.output_codec,
        voice=settings.voice,
        tool_name=tool_name,
        tool_arguments=tool_args,
        script_turn=reply.script_turn,
        metadata=params.metadata if params else None,
        max_output_tokens=(params.max_output_tokens if params else None) or session["max_output_tokens"],
        input_text_tokens=context_chars // 4,
        input_audio_tokens=committed_audio_ms // 100,
    )
