"""The simulated other party: speaks its scenario's caller lines into the call, turn by turn.

The party listens the way a person does: it answers once the AI's reply has been *played* to it and
a short pause has passed, barges in part-way through a reply when the script says so, says its line
again when the line stays silent after it, and, with its script done, stays on the line in silence
until the app hangs up (or it loses patience).

One party lives for the whole call, so a call whose stream is replaced (``<Play digits>`` followed by
a new ``<Connect><Stream>``) carries on with the next line instead of starting over.
"""

from __future__ import annotations

import asyncio
from typing import Literal, Protocol

from phony.sim.audio import speech
from phony.sim.scenarios import Scenario, Turn, speech_ms

__all__ = ["Party", "PartyEnd", "PartyLine"]

PartyEnd = Literal["script-ended", "no-reply"]


class PartyLine(Protocol):
    """What the party can do on a media stream (the stream session implements it)."""

    @property
    def ai_frames(self) -> int:
        """Media messages received from the app so far on this stream."""
        ...

    async def speak(self, text: str, audio: bytes) -> None:
        """Send ``audio`` (the line ``text``) at real time; return when all of it was sent."""
        ...

    async def wait_ai_audio(self, after: int, timeout_s: float) -> bool:
        """Wait until more than ``after`` media messages have arrived; False on timeout."""
        ...

    async def wait_ai_quiet(self, quiet_s: float) -> None:
        """Wait until everything the app sent has played and no new audio came for ``quiet_s``."""
        ...


class Party:
    """A caller following ``scenario``; :meth:`converse` runs it on one stream."""

    def __init__(
        self,
        scenario: Scenario,
        reply_timeout_s: float = 20.0,
        linger_s: float = 30.0,
        greeting_wait_s: float = 2.0,
        reprompt_after_s: float = 6.0,
        reprompts: int = 2,
    ) -> None:
        """``reply_timeout_s``: how long to wait for any reply; ``linger_s``: silence after the script;
        ``greeting_wait_s``: how long the caller listens for a greeting before speaking first;
        ``reprompt_after_s``: total silence after a line before the caller says it again, at most
        ``reprompts`` times, within the reply timeout."""
        self.scenario = scenario
        self.greeting_wait_s = greeting_wait_s
        self.reply_timeout_s = reply_timeout_s
        self.linger_s = linger_s
        self.reprompt_after_s = reprompt_after_s
        self.reprompts = reprompts
        self.next_turn = 0  # index into the script, kept across the call's streams

    def _turn(self) -> tuple[int, Turn] | None:
        turns = self.scenario.turns
        if self.next_turn < len(turns):
            return self.next_turn, turns[self.next_turn]
        if self.scenario.repeat_last and turns:
            return len(turns) - 1, turns[-1]
        return None

    async def converse(self, line: PartyLine) -> PartyEnd:
        """Speak the remaining lines on ``line``; return why the party hangs up."""
        pause_s = self.scenario.pause_ms / 1000
        heard = line.ai_frames
        said: tuple[int, Turn] | None = None  # the line spoken last on this stream
        while (current := self._turn()) is not None:
            index, turn = current
            if said is None:
                # A new stream starts a fresh exchange: whatever the app said before is over. At the
                # very start a caller first listens a moment for a greeting, and lets it finish.
                if self.next_turn == 0:
                    await line.wait_ai_audio(heard, self.greeting_wait_s)
                await line.wait_ai_quiet(pause_s)
            else:
                if not await self._await_reply(line, heard, said):
                    return "no-reply"
                if turn.interrupt_after_ms is not None:
                    await asyncio.sleep(turn.interrupt_after_ms / 1000)  # barge in mid-reply
                else:
                    await line.wait_ai_quiet(pause_s)
            await _say(line, index, turn)
            heard = line.ai_frames
            self.next_turn += 1
            said = current
        if said is not None and await self._await_reply(line, heard, said):
            await line.wait_ai_quiet(pause_s)
        # The script is done: hold the line quietly, giving the app time to say goodbye and hang up.
        await asyncio.sleep(self.linger_s)
        return "script-ended"

    async def _await_reply(self, line: PartyLine, heard: int, said: tuple[int, Turn]) -> bool:
        """Wait for any of the app's audio after ``heard``; False if none came within the reply timeout.

        When the line stays completely silent the caller says its line again, as a person does who
        wonders whether they were heard (the app may have lost the turn, e.g. in a failover). Any
        audio at all, even "let me check" followed by a long wait, is a reply and stops this.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reply_timeout_s
        reprompts = 0
        while (left := deadline - loop.time()) > 0:
            patience = min(left, self.reprompt_after_s) if reprompts < self.reprompts else left
            if await line.wait_ai_audio(heard, patience):
                return True
            if reprompts >= self.reprompts or deadline <= loop.time():
                break
            # Audio that arrives while the caller repeats itself still counts: ``heard`` stays put.
            await _say(line, *said)
            reprompts += 1
        return line.ai_frames > heard  # a reply may have begun while the caller was repeating itself


async def _say(line: PartyLine, index: int, turn: Turn) -> None:
    # The same words sound the same each time (seeded by the line's index).
    await line.speak(turn.caller, speech(speech_ms(turn.caller), seed=index))
