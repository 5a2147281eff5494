"""What the fake model hears and says: the call's scenario script, advanced turn by turn.

The scenario comes from the ``- scenario: <name>`` line of the call metadata in the session's
instructions (:func:`phony.sim.scenarios.parse_call_metadata`), read afresh at each turn so a
``session.update`` that changes it takes effect. Caller turn *n* is transcribed as the script's
``caller`` line *n*; the answer is turn *n*'s ``ai`` line and its tool call. Past the end of the script
the last turn repeats (as ``repeat_last`` scenarios ask for explicitly).

A session that is given the conversation so far as messages (a call taken over by another worker,
restored in a new session) goes on from there, as a real model continues the conversation it reads:
each user message is a caller turn already heard and each assistant message a reply already given
(:meth:`Script.caller_turn_restored`, :meth:`Script.reply_restored`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from phony.sim.realtime.options import ScenarioLookup
from phony.sim.scenarios import (
    PLACEHOLDER_DEFAULTS,
    Scenario,
    ToolCall,
    Turn,
    parse_call_metadata,
    scenario_named,
    verbatim_text,
)


@dataclass(frozen=True)
class Reply:
    """One response's content: what to say, and the function call to make after it (if any)."""

    text: str
    tool: ToolCall | None = None
    script_turn: int | None = None  # None for verbatim speech, which answers no turn of the script


class _FillMissing(dict[str, str]):
    # str.format_map leaves a placeholder the call metadata has no value for as it was.
    def __missing__(self, key: str) -> str:
        return PLACEHOLDER_DEFAULTS.get(key, "{" + key + "}")


def tool_arguments(tool: ToolCall, instructions: str) -> str:
    """The tool's arguments as the JSON string the API sends, ``{placeholders}`` filled from metadata."""
    metadata = _FillMissing(parse_call_metadata(instructions))
    return json.dumps({key: value.format_map(metadata) for key, value in tool.arguments.items()})


class Script:
    """Where one session is in its scenario."""

    def __init__(self, lookup: ScenarioLookup | None = None) -> None:
        self._lookup = lookup
        self.caller_turns = 0  # caller turns heard, committed or restored (each one the next caller line)
        self.answered = 0  # script turns answered so far
        self.completed_turns = 0  # script answers that finished (counted for fail_after_turns)

    def scenario(self, instructions: str) -> Scenario:
        """The scenario the instructions' call metadata names, else the one the world's lookup gives
        for this call (the default one when neither does)."""
        metadata = parse_call_metadata(instructions)
        name = metadata.get("scenario") or (self._lookup(metadata) if self._lookup else None)
        return scenario_named(name)

    @staticmethod
    def _turn(scenario: Scenario, index: int) -> Turn:
        return scenario.turns[min(index, len(scenario.turns) - 1)]

    def transcribe_caller_turn(self, instructions: str) -> str:
        """The transcript of a newly committed caller turn; advances to the next caller line."""
        turn = self._turn(self.scenario(instructions), self.caller_turns)
        self.caller_turns += 1
        return turn.caller

    def reply(self, instructions: str, response_instructions: str | None, next_line: bool) -> Reply:
        """What the next response says.

        Text between « and » in the response's instructions is said verbatim (a greeting, a
        supervisor's words). Otherwise the answer is the AI line of the caller's current turn, or,
        when ``next_line`` (the conversation ends with a tool result or a system message), the next
        AI line the script has not said yet.
        """
        verbatim = verbatim_text(response_instructions)
        if verbatim is not None:
            return Reply(verbatim)
        index = self.answered if next_line else max(self.caller_turns - 1, 0)
        turn = self._turn(self.scenario(instructions), index)
        self.answered = max(self.answered, index + 1)
        return Reply(turn.ai, turn.tool, index)

    def caller_turn_restored(self) -> None:
        """A caller turn the client put in the conversation as a message: already heard, so the next
        committed turn is transcribed as the caller's next line (and a response now answers this one)."""
        self.caller_turns += 1

    def reply_restored(self, next_line: bool) -> None:
        """An AI reply the client put in the conversation: the script turn :meth:`reply` would have
        answered with it counts as answered. ``next_line`` as for :meth:`reply`, from the item before it.

        Unlike :meth:`reply`, a reply before any caller turn answers no script turn: in a restored call
        that is the greeting, which was said verbatim.
        """
        index = self.answered if next_line else self.caller_turns - 1
        self.answered = max(self.answered, index + 1)

    def turn_completed(self, instructions: str) -> bool:
        """Count a finished script answer; True when the scenario now makes the model fail."""
        self.completed_turns += 1
        limit = self.scenario(instructions).fail_after_turns
        return limit is not None and self.completed_turns >= limit
