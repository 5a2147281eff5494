"""The LLM's commands: offered as realtime function tools, and also recognised as the seed's
``[[...]]`` markers in text output (stripped before anything is shown or spoken)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from phony.events.calls import LlmCommandName as CommandName

TOOL_TO_COMMAND: dict[str, CommandName] = {
    "transfer_call": "transfer",
    "end_call": "end_call",
    "press_digits": "press",
    "request_user": "request_user",
}

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "end_call",
        "description": "Hang up once the conversation is over and you have said goodbye.",
        "parameters": {"type": "object", "properties": {}, "required": []},
    },
    {
        "type": "function",
        "name": "transfer_call",
        "description": "Transfer the caller to a human at the given E.164 number.",
        "parameters": {
            "type": "object",
            "properties": {"target": {"type": "string", "description": "E.164 number, e.g. +15551234567"}},
            "required": ["target"],
        },
    },
    {
        "type": "function",
        "name": "press_digits",
        "description": "Send DTMF digits (0-9, *, #, w for a pause) on the line, e.g. to navigate a menu.",
        "parameters": {
            "type": "object",
            "properties": {"digits": {"type": "string"}},
            "required": ["digits"],
        },
    },
    {
        "type": "function",
        "name": "request_user",
        "description": "Ask your human supervisor a question and wait for the answer before going on.",
        "parameters": {
            "type": "object",
            "properties": {"question": {"type": "string"}},
            "required": ["question"],
        },
    },
]

_MARKER = re.compile(r"\[\[\s*(transfer|end_call|press|request_user)\s*(?::\s*([^\]]*?))?\s*\]\]")
_DIGITS = re.compile(r"^[0-9*#wW]{1,32}$")


@dataclass(frozen=True)
class LlmCommand:
    name: CommandName
    argument: str | None


def from_tool(name: str, arguments: dict[str, Any]) -> LlmCommand | None:
    """The command a function call asks for (``None`` for an unknown function)."""
    command = TOOL_TO_COMMAND.get(name)
    if command is None:
        return None
    key = {"transfer": "target", "press": "digits", "request_user": "question"}.get(command)
    value = arguments.get(key) if key else None
    return LlmCommand(command, str(value) if value is not None else None)


def extract_markers(text: str) -> tuple[str, list[LlmCommand]]:
    """``text`` without its ``[[...]]`` markers, and the commands they name, in order."""
    commands = [LlmCommand(m.group(1), (m.group(2) or None)) for m in _MARKER.finditer(text)]  # type: ignore[arg-type]
    clean = re.sub(r"\s{2,}", " ", _MARKER.sub("", text)).strip()
    return clean, commands


def valid_digits(digits: str | None) -> bool:
    return bool(digits and _DIGITS.match(digits))


def allowed_transfer(target: str | None, allowlist: list[str]) -> bool:
    """A transfer is allowed only to a number that one of the agent's allowlist entries prefixes."""
    if not target or not re.match(r"^\+[1-9]\d{1,14}$", target):
        return False
    return any(target.startswith(prefix) for prefix in allowlist)
