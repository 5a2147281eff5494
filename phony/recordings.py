"""The call audio store: what each party said, kept for audit, and WAV files made from it.

The worker that owns a call writes here (the caller's audio in chunks, each AI response whole); the
edge reads it for ``GET /calls/{sid}/recording`` and each ``ai.response``'s ``audio_url``. Audio is
G.711 μ-law at 8 kHz as it travels on the phone line; WAV output is 16-bit PCM.

This is not a read model: it is not rebuilt from the log (the caller's audio lives on the log only
for the audio topic's short retention), so ``phony rebuild`` leaves it alone.
"""

from __future__ import annotations

import contextlib
import io
import struct
import wave
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from phony.projections import queries
from phony.projections.documents import RECORDINGS

SAMPLE_RATE = 8000
Track = Literal["caller", "ai"]


def _ulaw_to_linear(u: int) -> int:
    u = ~u & 0xFF
    sample = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 0x07)
    sample -= 0x84
    return -sample if u & 0x80 else sample


_LINEAR = [_ulaw_to_linear(b) for b in range(256)]


class AudioSegment(BaseModel):
    """One stored piece of a call's audio, placed at ``start_ms`` after the media stream started."""

    model_config = ConfigDict(frozen=True)

    id: str
    call_sid: str
    tenant_id: str
    track: Track
    response_id: str | None = None
    start_ms: int
    audio: bytes

    def document(self) -> dict[str, Any]:
        return {"_id": self.id, **self.model_dump(exclude={"id"})}


def segment_id(call_sid: str, track: Track, part: str) -> str:
    """``_id`` of a segment: one per AI response (``part`` = response id) or caller chunk number."""
    return f"{call_sid}:{track}:{part}"


def caller_segment(call_sid: str, tenant_id: str, part: int, start_ms: int, audio: bytes) -> AudioSegment:
    """Caller audio: the call's ``part``-th chunk, ``start_ms`` into the stream."""
    return AudioSegment(
        id=segment_id(call_sid, "caller", f"{part:06d}"),
        call_sid=call_sid,
        tenant_id=tenant_id,
        track="caller",
        start_ms=start_ms,
        audio=audio,
    )


def ai_segment(call_sid: str, tenant_id: str, response_id: str, start_ms: int, audio: bytes) -> AudioSegment:
    """What the AI said in one response, ``start_ms`` into the stream."""
    return AudioSegment(
        id=segment_id(call_sid, "ai", response_id),
        call_sid=call_sid,
        tenant_id=tenant_id,
        track="ai",
        response_id=response_id,
        start_ms=start_ms,
        audio=audio,
    )


def collection(database: AsyncDatabase[dict[str, Any]]) -> AsyncCollection[dict[str, Any]]:
    return database[RECORDINGS]


async def save(database: AsyncDatabase[dict[str, Any]], segment: AudioSegment) -> None:
    """Store a segment (idempotent: the same segment written twice is one document).

    An insert, not an upsert: a segment never changes, and a duplicate is refused by the unique
    ``_id`` index without reading the stored one.
    """
    with contextlib.suppress(DuplicateKeyError):
        await collection(database).insert_one(segment.document())


async def load_response(
    database: AsyncDatabase[dict[str, Any]], call_sid: str, response_id: str
) -> AudioSegment | None:
    doc = await queries.recording(segment_id(call_sid, "ai", response_id)).first(database)
    return None if doc is None else AudioSegment.model_validate({**doc, "id": doc["_id"]})


async def load_call(database: AsyncDatabase[dict[str, Any]], call_sid: str) -> list[AudioSegment]:
    docs = await queries.recordings_of(call_sid).all(database)
    return [AudioSegment.model_validate({**d, "id": d["_id"]}) for d in docs]


def _wav(channels: list[list[int]]) -> bytes:
    frames = max((len(c) for c in channels), default=0)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        pcm = bytearray()
        for i in range(frames):
            for c in channels:
                pcm += struct.pack("<h", c[i] if i < len(c) else 0)
        w.writeframes(bytes(pcm))
    return out.getvalue()


def mono_wav(audio: bytes) -> bytes:
    """One μ-law buffer as a mono 16-bit WAV file."""
    return _wav([[_LINEAR[b] for b in audio]])


def stereo_wav(segments: list[AudioSegment]) -> bytes:
    """The whole call as a stereo WAV: the caller on the left, the AI on the right, each segment at
    its place in time (a later segment overwrites where two of one track overlap, as after barge-in)."""
    tracks: dict[Track, list[int]] = {"caller": [], "ai": []}
    for seg in sorted(segments, key=lambda s: (s.start_ms, s.id)):
        samples = tracks[seg.track]
        start = seg.start_ms * SAMPLE_RATE // 1000
        if len(samples) < start:
            samples.extend([0] * (start - len(samples)))
        for i, b in enumerate(seg.audio):
            if start + i < len(samples):
                samples[start + i] = _LINEAR[b]
            else:
                samples.append(_LINEAR[b])
    return _wav([tracks["caller"], tracks["ai"]])
