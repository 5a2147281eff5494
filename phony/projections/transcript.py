"""A call's transcript, folded from its stored events: what the caller, the AI and the supervisor said.

Derived on read from the call's stored events rather than kept as a second document, so each spoken
line costs the projector no extra write.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from phony.events import EventEnvelope, payload_of
from phony.events.calls import AiResponse, ResponseInterrupted, SpeechDetected, SupervisorTextSent

Speaker = Literal["caller", "ai", "supervisor"]
_TYPES = (SpeechDetected.TYPE, AiResponse.TYPE, SupervisorTextSent.TYPE, ResponseInterrupted.TYPE)


class TranscriptEntry(BaseModel):
    """One line: who spoke, what, and the event (``seq``) it comes from. AI lines name their response,
    its audio, and whether the caller cut it short."""

    seq: int
    timestamp: datetime
    speaker: Speaker
    text: str
    response_id: str | None = None
    audio_url: str | None = None
    interrupted: bool | None = None


def transcript(events: Iterable[EventEnvelope]) -> list[TranscriptEntry]:
    """The lines of ``events`` (given in seq order), in that order."""
    lines: list[TranscriptEntry] = []
    ai_lines: dict[str, TranscriptEntry] = {}
    cut_short: set[str] = set()  # response.interrupted may come before or after its ai.response
    for event in events:
        if event.type not in _TYPES:
            continue
        data = payload_of(event)
        seq, at = event.seq, event.timestamp
        if isinstance(data, SpeechDetected):
            lines.append(TranscriptEntry(seq=seq, timestamp=at, speaker=data.speaker, text=data.text))
        elif isinstance(data, SupervisorTextSent):
            lines.append(TranscriptEntry(seq=seq, timestamp=at, speaker="supervisor", text=data.text))
        elif isinstance(data, AiResponse):
            line = TranscriptEntry(
                seq=seq,
                timestamp=at,
                speaker="ai",
                text=data.text,
                response_id=data.response_id,
                audio_url=data.audio_url,
                interrupted=data.interrupted or data.response_id in cut_short,
            )
            ai_lines[data.response_id] = line
            lines.append(line)
        elif isinstance(data, ResponseInterrupted):
            cut_short.add(data.response_id)
            if data.response_id in ai_lines:
                ai_lines[data.response_id].interrupted = True
    return lines
