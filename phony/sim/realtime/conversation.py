"""The server's side of a conversation: its items in order, and how much audio each assistant item has.

Items are kept in the shape the API reports them (``object: realtime.item``, ``status``, content
parts), so they can be sent as-is in ``conversation.item.*`` and ``response.*`` events and read by
tests as the model's view of the call.
"""

from __future__ import annotations

import copy
from typing import Any

JsonObject = dict[str, Any]


class Conversation:
    """Ordered conversation items with lookup by id."""

    def __init__(self) -> None:
        self._items: list[JsonObject] = []
        self._audio_ms: dict[str, int] = {}

    @property
    def items(self) -> list[JsonObject]:
        """A snapshot of the items, oldest first."""
        return copy.deepcopy(self._items)

    def get(self, item_id: str) -> JsonObject | None:
        """The live item with that id (mutations show in later events), or None."""
        for item in self._items:
            if item.get("id") == item_id:
                return item
        return None

    def last(self) -> JsonObject | None:
        """The newest item, or None in an empty conversation."""
        return self._items[-1] if self._items else None

    def before(self, item_id: str) -> JsonObject | None:
        """The item just before the one with that id (None for the first item or an unknown id)."""
        for index, existing in enumerate(self._items):
            if existing.get("id") == item_id:
                return self._items[index - 1] if index else None
        return None

    def add(self, item: JsonObject, previous_item_id: str | None = None) -> str | None:
        """Insert ``item`` after ``previous_item_id`` (at the end when None); returns its predecessor's id.

        Raises KeyError when ``previous_item_id`` is not in the conversation.
        """
        if previous_item_id is None:
            before = self._items[-1]["id"] if self._items else None
            self._items.append(item)
            return before
        for index, existing in enumerate(self._items):
            if existing.get("id") == previous_item_id:
                self._items.insert(index + 1, item)
                return previous_item_id
        raise KeyError(previous_item_id)

    def delete(self, item_id: str) -> bool:
        """Remove an item; False when there was none with that id."""
        for index, existing in enumerate(self._items):
            if existing.get("id") == item_id:
                del self._items[index]
                self._audio_ms.pop(item_id, None)
                return True
        return False

    def add_audio(self, item_id: str, ms: int) -> None:
        """Record ``ms`` more milliseconds of audio generated for an assistant item."""
        self._audio_ms[item_id] = self._audio_ms.get(item_id, 0) + ms

    def audio_ms(self, item_id: str) -> int:
        """Milliseconds of audio the item holds (what a truncation may keep at most)."""
        return self._audio_ms.get(item_id, 0)

    def truncate_audio(self, item_id: str, audio_end_ms: int) -> None:
        """Keep the first ``audio_end_ms`` of the item's audio and drop its transcript.

        The API removes the transcript of a truncated item so the model's context holds no text the
        caller never heard.
        """
        self._audio_ms[item_id] = audio_end_ms
        item = self.get(item_id)
        if item is not None:
            for part in item.get("content") or []:
                if part.get("type") == "output_audio":
                    part["transcript"] = ""
