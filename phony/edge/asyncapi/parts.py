"""What the AsyncAPI document is assembled from: its channels, operations and messages, part by part."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Literal

Obj = dict[str, Any]
Action = Literal["send", "receive"]


def described(cls: type[Any]) -> Obj:
    """``summary`` (the first line) and ``description`` (the whole) of a class's own docstring."""
    doc = cls.__dict__.get("__doc__")
    if not doc:
        return {}
    text = inspect.cleandoc(doc)
    return {"summary": text.split("\n\n")[0].replace("\n", " "), "description": text}


@dataclass
class Part:
    """Channels, operations and messages of one transport (Kafka, the WebSocket)."""

    channels: dict[str, Obj] = field(default_factory=dict)
    operations: dict[str, Obj] = field(default_factory=dict)
    messages: dict[str, Obj] = field(default_factory=dict)

    def channel(self, channel_id: str, channel: Obj, messages: dict[str, Obj]) -> None:
        """Add a channel with its ``messages`` (kept under ``components.messages``)."""
        self.messages.update(messages)
        self.channels[channel_id] = {
            **channel,
            "messages": {mid: {"$ref": f"#/components/messages/{mid}"} for mid in messages},
        }

    def operation(self, operation_id: str, action: Action, channel_id: str, **fields: Any) -> None:
        """Add an operation that sends or receives every message of ``channel_id``."""
        messages = self.channels[channel_id]["messages"]
        self.operations[operation_id] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{mid}"} for mid in messages],
            **fields,
        }
