"""Scripts for the simulated other party and the fake model, chosen by a call's ``scenario``.

Both simulators read the same script: the simulated caller (fake Twilio) speaks the caller lines as
μ-law audio, and the fake OpenAI Realtime server "transcribes" caller turn *n* as ``caller`` of turn
*n* and answers with ``ai`` and the turn's tool call. The product chooses nothing here; it only passes
the scenario name along (a TwiML ``<Parameter name="scenario">`` and a ``- scenario: <name>`` line
of the instructions' call metadata, see :func:`parse_call_metadata`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DEFAULT_SCENARIO = "default"
# Values for tool-argument placeholders the call metadata does not give.
PLACEHOLDER_DEFAULTS = {"transfer_target": "+15557654321"}


@dataclass(frozen=True)
class ToolCall:
    """A function call the fake model makes after speaking its line of a turn."""

    name: str  # end_call | transfer_call | press_digits | request_user
    arguments: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    """One exchange: the caller says ``caller``, the model answers ``ai`` then makes ``tool``."""

    caller: str
    ai: str
    tool: ToolCall | None = None
    # Spoken by the caller this many ms after the AI starts answering (barge-in), instead of after
    # the AI has finished.
    interrupt_after_ms: int | None = None


@dataclass(frozen=True)
class Scenario:
    """A whole script. ``repeat_last`` keeps the caller going with the last turn forever (hold)."""

    name: str
    turns: tuple[Turn, ...]
    repeat_last: bool = False
    pause_ms: int = 300  # the caller's silence before speaking a turn
    # The fake model drops the connection (after an ``error`` event) once it has answered this many turns.
    fail_after_turns: int | None = None


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "default",
            (
                Turn("Hi, I'd like to check my order status.", "Sure. Your order shipped yesterday."),
                Turn("Great, thanks, that's all.", "You're welcome, goodbye!", ToolCall("end_call")),
            ),
        ),
        Scenario(
            "hold",
            (Turn("Are you still there?", "Yes, I'm still here."),),
            repeat_last=True,
            pause_ms=1500,
        ),
        Scenario(
            "barge_in",
            (
                Turn(
                    "What are your opening hours?",
                    "We are open from eight in the morning until eight in the evening on weekdays, "
                    "and from ten until four on Saturdays, and on public holidays we follow the "
                    "Saturday hours unless announced otherwise on our website.",
                ),
                Turn(
                    "Sorry, just tell me about today.",
                    "Today we are open until eight.",
                    interrupt_after_ms=600,
                ),
                Turn("Thanks, bye.", "Goodbye!", ToolCall("end_call")),
            ),
        ),
        Scenario(
            "transfer",
            (
                Turn(
                    "I want to talk to a human, please.",
                    "Of course, let me transfer you now.",
                    ToolCall("transfer_call", {"target": "{transfer_target}"}),
                ),
            ),
            repeat_last=True,
        ),
        Scenario(
            "digits",
            (
                Turn(
                    "Please enter my extension.",
                    "Entering it now.",
                    ToolCall("press_digits", {"digits": "123#"}),
                ),
                Turn("Thanks, that worked.", "Great, goodbye!", ToolCall("end_call")),
            ),
        ),
        Scenario(
            "request_user",
            (
                Turn(
                    "Can you tell me my account balance?",
                    "Let me check that with my supervisor.",
                    ToolCall("request_user", {"question": "What is the caller's balance?"}),
                ),
                Turn("Thank you, goodbye.", "Goodbye!", ToolCall("end_call")),
            ),
        ),
        Scenario(
            # request_user as the seed's marker: the supervisor's answer comes back as a message.
            "request_user_marker",
            (
                Turn(
                    "Can you tell me my account balance?",
                    "Let me check that with my supervisor. [[request_user:What is the caller's balance?]]",
                ),
                Turn("Thank you, goodbye.", "Goodbye! [[end_call]]"),
            ),
        ),
        Scenario(
            # The seed's text markers instead of tools: the model's words carry [[...]] commands.
            "markers",
            (
                Turn("Can you dial extension five for me?", "Sure. [[press:5]]"),
                Turn("Thanks, that's everything.", "Goodbye! [[end_call]]"),
            ),
        ),
        Scenario(
            "model_error",
            (Turn("Hello, is anyone there?", "Hello! One moment please."),),
            repeat_last=True,
            fail_after_turns=1,
        ),
    )
}

_META_LINE = re.compile(r"^\s*-\s*([A-Za-z0-9_]+):\s*(.*?)\s*$")


def parse_call_metadata(instructions: str) -> dict[str, str]:
    """The ``- key: value`` lines that follow a ``Call metadata:`` line in the model's instructions."""
    out: dict[str, str] = {}
    in_section = False
    for line in instructions.splitlines():
        if line.strip().lower().startswith("call metadata:"):
            in_section = True
            continue
        if in_section:
            m = _META_LINE.match(line)
            if not m:
                if line.strip():
                    in_section = False
                continue
            out[m.group(1)] = m.group(2)
    return out


def scenario_named(name: str | None) -> Scenario:
    """The scenario of that name, or the default one for an unknown or missing name."""
    return SCENARIOS.get(name or DEFAULT_SCENARIO, SCENARIOS[DEFAULT_SCENARIO])


def speech_ms(text: str) -> int:
    """How long a line takes to say: ~60 ms a character, 400 ms to 2.4 s (keeps tests quick)."""
    return max(400, min(2400, 60 * len(text)))


VERBATIM_OPEN = "«"
VERBATIM_CLOSE = "»"


def verbatim_text(instructions: str | None) -> str | None:
    """Text the model is told to say word for word: whatever stands between « and » (first pair)."""
    if not instructions:
        return None
    start = instructions.find(VERBATIM_OPEN)
    end = instructions.find(VERBATIM_CLOSE, start + 1)
    if start < 0 or end < 0:
        return None
    return instructions[start + 1 : end]
