"""``conversation.item.create / retrieve / delete / truncate``: the client editing the conversation."""

from __future__ import annotations

import time

from openai.types.realtime import (
    ConversationItemCreateEvent,
    ConversationItemDeleteEvent,
    ConversationItemRetrieveEvent,
    ConversationItemTruncateEvent,
)

from phony.sim.realtime.events import JsonObject
from phony.sim.realtime.host import SessionHost
from phony.sim.realtime.options import RealtimeObservation
from phony.sim.realtime.parsing import ClientError


def item_text(item: JsonObject) -> str:
    """The words an item carries: message text or transcripts, a call's arguments, a tool's output."""
    if item.get("type") == "function_call_output":
        return str(item.get("output", ""))
    if item.get("type") == "function_call":
        return str(item.get("arguments", ""))
    parts = item.get("content") or []
    return " ".join(str(p.get("text") or p.get("transcript") or "") for p in parts).strip()


async def create_item(host: SessionHost, event: ConversationItemCreateEvent) -> JsonObject:
    """Add the client's item (a typed message, a tool result), confirm it, and return it."""
    item: JsonObject = event.item.model_dump(mode="json", exclude_unset=True, by_alias=True)
    item.setdefault("id", host.events.new_id("item"))
    item["object"] = "realtime.item"
    item["status"] = "completed"
    observer = host.options.observer
    if observer is not None:
        observer(
            RealtimeObservation(host.id, "conversation.item.create", time.monotonic(), detail=item_text(item))
        )
    if host.conversation.get(item["id"]) is not None:
        raise ClientError(
            f"Item with id '{item['id']}' already exists.", "invalid_value", "item.id", event.event_id
        )
    try:
        previous = host.conversation.add(item, event.previous_item_id)
    except KeyError:
        raise ClientError(
            f"Previous item with item_id '{event.previous_item_id}' not found.",
            "invalid_value",
            "previous_item_id",
            event.event_id,
        ) from None
    await host.send(host.events.make("conversation.item.added", previous_item_id=previous, item=item))
    await host.send(host.events.make("conversation.item.done", previous_item_id=previous, item=item))
    return item


async def retrieve_item(host: SessionHost, event: ConversationItemRetrieveEvent) -> None:
    """Send the server's copy of an item."""
    item = host.conversation.get(event.item_id)
    if item is None:
        raise ClientError(
            f"Item with item_id '{event.item_id}' not found.",
            "item_retrieve_invalid_item_id",
            "item_id",
            event.event_id,
        )
    await host.send(host.events.make("conversation.item.retrieved", item=item))


async def delete_item(host: SessionHost, event: ConversationItemDeleteEvent) -> None:
    """Remove an item from the conversation."""
    if not host.conversation.delete(event.item_id):
        raise ClientError(
            f"Item with item_id '{event.item_id}' not found.",
            "item_delete_invalid_item_id",
            "item_id",
            event.event_id,
        )
    await host.send(host.events.make("conversation.item.deleted", item_id=event.item_id))


async def truncate_item(host: SessionHost, event: ConversationItemTruncateEvent) -> None:
    """Cut an assistant item's audio where the caller stopped hearing it (after a barge-in)."""
    item = host.conversation.get(event.item_id)
    if item is None:
        raise ClientError(
            f"Item with item_id '{event.item_id}' not found.",
            "item_truncate_invalid_item_id",
            "item_id",
            event.event_id,
        )
    have_ms = host.conversation.audio_ms(event.item_id)
    if item.get("role") != "assistant" or (
        have_ms == 0 and not any(p.get("type") == "output_audio" for p in item.get("content") or [])
    ):
        raise ClientError(
            "Only assistant messages with audio content can be truncated.",
            "invalid_value",
            "item_id",
            event.event_id,
        )
    if event.content_index != 0:
        raise ClientError(
            f"Invalid content_index: {event.content_index}. The item has one content part.",
            "invalid_value",
            "content_index",
            event.event_id,
        )
    if event.audio_end_ms < 0 or event.audio_end_ms > have_ms:
        raise ClientError(
            f"Audio content of {have_ms}ms is already shorter than {event.audio_end_ms}ms",
            "invalid_value",
            "audio_end_ms",
            event.event_id,
        )
    host.conversation.truncate_audio(event.item_id, event.audio_end_ms)
    truncated = host.events.make(
        "conversation.item.truncated",
        item_id=event.item_id,
        content_index=event.content_index,
        audio_end_ms=event.audio_end_ms,
    )
    await host.send(truncated)
