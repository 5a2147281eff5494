"""The simulated other party: speaks its scenario's caller lines into the call, turn by turn.

The party listens the way a person does: it answers once the AI's reply has been *played* to it and
a short pause has passed, barges in part-way through a reply when the script says so, and, with its
script done, stays on the line in silence until the app hangs up (or it loses patience).

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
    ) -> None:
        """``reply_timeout_s``: how long to wait for any reply; ``linger_s``: silence after the script;
        ``greeting_wait_s``: how long the caller listens for a greeting before speaking first."""
        self.scenario = scenario
        self.greeting_wait_s = greeting_wait_s
        self.reply_timeout_s = reply_timeout_s
        self.linger_s = linger_s
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
        first_on_stream = True
        while (current := self._turn()) is not None:
            index, turn = current
            if first_on_stream:
                # A new stream starts a fresh exchange: whatever the app said before is over. At the
                # very start a caller first listens a moment for a greeting, and lets it finish.
                if self.next_turn == 0:
                    await line.wait_ai_audio(heard, self.greeting_wait_s)
                await line.wait_ai_quiet(pause_s)
            else:
                if not await line.wait_ai_audio(heard, self.reply_timeout_s):
                    return "no-reply"
                if turn.interrupt_after_ms is not None:
                    await asyncio.sleep(turn.interrupt_after_ms / 1000)  # barge in mid-reply
                else:
                    await line.wait_ai_quiet(pause_s)
            await line.speak(turn.caller, speech(speech_ms(turn.caller), seed=index))
            heard = line.ai_frames
            self.next_turn += 1
            first_on_stream = False
        if not first_on_stream and await line.wait_ai_audio(heard, self.reply_timeout_s):
            await line.wait_ai_quiet(pause_s)
        # The script is done: hold the line quietly, giving the app time to say goodbye and hang up.
        await asyncio.sleep(self.linger_s)
        return "script-ended"
