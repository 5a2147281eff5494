"""What a call's decisions remember of its current model session: the replies streaming or played,
how much of each the caller has heard, what waits for the session to open. None of it outlives the
session: a worker that takes the call over opens a new one, restored from the events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from phony.workers.calls.llm_commands import LlmCommand

KEEP_REPLIES = 8


@dataclass
class Reply:
    """One model response as it streams: its audio, words, tools, and how much the caller heard."""

    id: str
    held: bool  # approval mode: its audio waits for the supervisor
    verbatim: bool = False  # words we told the model to say (greeting, supervisor, hold line)
    item_id: str | None = None
    text: str = ""
    transcript: str | None = None
    audio: bytearray = field(default_factory=bytearray)
    sent: int = 0  # bytes sent towards the caller
    played: int = 0  # bytes the caller has heard (mark echoes)
    start_ms: int = 0  # caller-stream time of the first delta (where it sits in the recording)
    interrupted: bool = False
    done: bool = False
    audio_ms: int = 0  # once done: how long its audio was (the audio itself is stored, not kept)
    latency_ms: float | None = None  # caller stopped speaking -> its first audio (recorded at its end)
    tools: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # name, call id, args

    @property
    def heard_all(self) -> bool:
        return self.done and self.played >= self.sent

    def note_played(self, count: int) -> None:
        self.played = max(self.played, count)


@dataclass(frozen=True)
class Deferred:
    """An LLM command that waits until the caller has heard the reply that carried it."""

    command: LlmCommand
    call_id: str | None


@dataclass
class SessionView:
    """The call's current model session, as its decisions see it."""

    opening: bool = False
    open: bool = False
    replies: dict[str, Reply] = field(default_factory=dict)
    current: str | None = None  # the reply streaming now
    playing: str | None = None  # the reply the caller is hearing
    verbatim_asked: int = 0  # response.create with words to say, sent so far
    verbatim_begun: int = 0  # ... and created so far (the model takes them in order)
    speech_stopped_at: float | None = None  # monotonic time the caller last stopped speaking
    stream_ms: int = 0  # caller-stream time of the latest caller frame
    digits_in_flight: bool = False  # Twilio is replacing the stream after DTMF
    transfer_in_flight: bool = False  # Twilio is dialling the transfer target (the stream will stop)
    call_ids: set[str] = field(default_factory=set)  # function calls this session made (answerable)
    after_speech: list[Deferred] = field(default_factory=list)  # wait for these words to be heard:
    after_speech_words: int = 0  # ... the verbatim_asked-th words
    after_heard: dict[str, list[Deferred]] = field(default_factory=dict)  # reply id -> commands
    ending: bool = False  # an end is decided (its event may not be folded yet)

    def forget_old_replies(self, keep: int = KEEP_REPLIES) -> None:
        """Bound memory on a long call: finished replies that nothing waits on are dropped, all but
        the last ``keep`` (a late mark of a dropped reply changes nothing)."""
        finished = [
            rid
            for rid, r in self.replies.items()
            if r.done and not r.held and rid != self.playing and rid not in self.after_heard
        ]
        for rid in finished[: max(0, len(finished) - keep)]:
            del self.replies[rid]

    @property
    def verbatim_pending(self) -> int:
        return self.verbatim_asked - self.verbatim_begun

    def reply(self, response_id: str) -> Reply | None:
        """The reply an event names: ``None`` for one this session did not create (a stale event of a
        session that was replaced), which then changes nothing."""
        return self.replies.get(response_id)
