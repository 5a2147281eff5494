"""The caller's side of a call's recording: its audio, stored in segments as it arrives."""

from __future__ import annotations

from phony import recordings

SEGMENT_BYTES = 8000 * 5  # caller audio is stored in 5-second segments


class CallerTrack:
    """Collects the caller's audio and cuts it into :class:`recordings.AudioSegment` s."""

    def __init__(self, call_sid: str, tenant_id: str) -> None:
        self._sid = call_sid
        self._tenant_id = tenant_id
        self._audio = bytearray()
        self._start_ms = 0
        self._part = 0

    def add(self, audio: bytes, timestamp_ms: int) -> recordings.AudioSegment | None:
        """Add audio that starts at stream time ``timestamp_ms``; a full segment when one is due."""
        if not self._audio:
            self._start_ms = timestamp_ms
        self._audio += audio
        return self.cut() if len(self._audio) >= SEGMENT_BYTES else None

    def cut(self) -> recordings.AudioSegment | None:
        """The audio collected so far as a segment (``None`` if there is none)."""
        if not self._audio:
            return None
        segment = recordings.caller_segment(
            self._sid, self._tenant_id, self._part, self._start_ms, bytes(self._audio)
        )
        self._part += 1
        self._audio = bytearray()
        return segment
