"""Twilio's outbound buffer: the app's audio played at real time, with marks in line with the audio.

Pure bookkeeping with no clock of its own: the stream's 20 ms clock calls :meth:`PlaybackBuffer.tick`
once per frame. A mark is due when all audio queued before it has been played out, that is one tick
after the tick that took its last bytes.
"""

from __future__ import annotations

from collections import deque

from phony.sim.audio import FRAME_BYTES

__all__ = ["PlaybackBuffer"]


class _Mark:
    # A distinct type so a mark can never be mistaken for audio in the queue.
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class PlaybackBuffer:
    """Audio chunks and marks in arrival order."""

    def __init__(self) -> None:
        """An empty buffer."""
        self._items: deque[bytes | _Mark] = deque()
        self._offset = 0  # bytes of the head chunk already played
        self.queued_bytes = 0

    def is_empty(self) -> bool:
        """True when nothing (audio or mark) waits to be played."""
        return not self._items

    def push_audio(self, audio: bytes) -> None:
        """Queue audio behind everything already queued."""
        if audio:
            self._items.append(audio)
            self.queued_bytes += len(audio)

    def push_mark(self, name: str) -> bool:
        """Queue a mark; True if it is due at once (nothing was queued before it), so not queued."""
        if not self._items:
            return True
        self._items.append(_Mark(name))
        return False

    def tick(self, size: int = FRAME_BYTES) -> tuple[bytes, list[str]]:
        """Play one frame: the marks whose audio has finished, then up to ``size`` bytes of audio.

        Audio stops at the next mark so that a mark never waits for audio queued after it.
        """
        due: list[str] = []
        items = self._items
        while items:
            first = items[0]
            if not isinstance(first, _Mark):
                break
            items.popleft()
            due.append(first.name)
        played = bytearray()
        while items and len(played) < size:
            head = items[0]
            if isinstance(head, _Mark):
                break
            take = min(size - len(played), len(head) - self._offset)
            played += head[self._offset : self._offset + take]
            self._offset += take
            if self._offset == len(head):
                items.popleft()
                self._offset = 0
        self.queued_bytes -= len(played)
        return bytes(played), due

    def clear(self) -> list[str]:
        """Drop all queued audio; return the names of the pending marks (to echo at once)."""
        marks = [item.name for item in self._items if isinstance(item, _Mark)]
        self._items.clear()
        self._offset = 0
        self.queued_bytes = 0
        return marks
