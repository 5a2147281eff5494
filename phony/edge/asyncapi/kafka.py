"""The Kafka part of the AsyncAPI document: the topics (``Topics.of(settings)``, as created by
``ensure_topics``), who writes and who reads each, and their messages."""

from __future__ import annotations

from typing import Any

from phony.config import Settings
from phony.edge.asyncapi.components import Components
from phony.edge.asyncapi.messages import (
    KAFKA_BINDING,
    audio_messages,
    command_messages,
    envelopes,
    event_messages,
)
from phony.edge.asyncapi.parts import Obj, Part
from phony.events.log import Topics, topic_configs

SERVER = "kafka"
# The workers' changelog of aggregate states (phony.workers.snapshot_topic, which the edge does not
# import): named here for the document only; a test holds the two names equal.
SNAPSHOTS = "snapshots"


def _configuration(config: dict[str, str]) -> dict[str, Any]:
    # Kafka takes every setting as text; the binding wants numbers as numbers.
    return {k: int(v) if v.lstrip("-").isdigit() else v for k, v in config.items()}


def _channel(settings: Settings, address: str, description: str, config: dict[str, str] | None) -> Obj:
    binding: Obj = {"topic": address, "partitions": settings.partitions, "bindingVersion": KAFKA_BINDING}
    if config is not None:
        binding["topicConfiguration"] = _configuration(config)
    return {
        "address": address,
        "title": address,
        "description": description,
        "servers": [{"$ref": f"#/servers/{SERVER}"}],
        "bindings": {"kafka": binding},
    }


def _group(settings: Settings, role: str) -> Obj:
    group = settings.group(role)
    return {"kafka": {"groupId": {"type": "string", "enum": [group]}, "bindingVersion": KAFKA_BINDING}}


def kafka_part(settings: Settings, components: Components) -> Part:
    """Channels and operations of the four topics, co-partitioned (same key, same partition count)."""
    topics, configs = Topics.of(settings), topic_configs(settings)
    part = Part()
    part.channel(
        "commands",
        _channel(
            settings,
            topics.commands,
            "Requests to change one aggregate (tenant, agent or call), keyed by its id so that the worker "
            "owning the partition decides on it. JSON, parsed as a union discriminated on `type`. Stamped "
            "with the broker's append time: a command with `append_by` appended later was answered as "
            "failed and is dropped.",
            configs[topics.commands],
        ),
        command_messages(components),
    )
    part.channel(
        "audio",
        _channel(
            settings,
            topics.audio,
            "The caller's audio and Twilio's mark echoes, one compact JSON array per 20 ms frame, keyed "
            "by the call's CallSid (the hot path: no headers, no codec).",
            configs[topics.audio],
        ),
        audio_messages(components),
    )
    envelopes(components)
    part.channel(
        "events",
        _channel(
            settings,
            topics.events,
            "The log of facts, the source of truth: every event of every aggregate in its envelope, "
            "keyed by aggregate_id, `seq` counting each aggregate's events from 1 with no gap. Written in "
            "transactions by the partition's one writer; read with isolation_level=read_committed. "
            "Older payload versions stay as written and are upcast when read.",
            configs[topics.events],
        ),
        event_messages(components, public=False),
    )
    part.channel(
        "snapshots",
        {
            **_channel(
                settings,
                settings.topic(SNAPSHOTS),
                "INTERNAL: the workers' compacted changelog of aggregate states per partition of the "
                "events topic (key: aggregate id, or `@position` for the events offset they are valid "
                "up to). A cache of the fold, not a contract: records written by other code are ignored "
                "and the partition is restored from the log instead.",
                None,
            ),
            "x-internal": True,
        },
        {
            "snapshot.Record": {
                "name": "snapshot",
                "title": "Aggregate state (internal)",
                "summary": "A worker's state of one aggregate, in the worker's own format",
                "payload": {"description": "internal, versioned by a header digest of the state classes"},
                "bindings": {"kafka": {"key": {"type": "string"}, "bindingVersion": KAFKA_BINDING}},
                "x-internal": True,
            }
        },
    )
    edge_writes = "The edge: REST writes, Twilio webhooks and the media stream"
    part.operation(
        "sendCommand", "send", "commands", summary=f"{edge_writes} (and a worker, once it placed a call)"
    )
    part.operation(
        "receiveCommand",
        "receive",
        "commands",
        summary="The worker owning the partition",
        bindings=_group(settings, "worker"),
    )
    part.operation("sendAudio", "send", "audio", summary="The edge, from Twilio's media stream")
    part.operation(
        "receiveAudio",
        "receive",
        "audio",
        summary="The worker owning the call (one consumer with the commands)",
        bindings=_group(settings, "worker"),
    )
    part.operation(
        "appendEvent", "send", "events", summary="The worker owning the partition, transactionally"
    )
    part.operation(
        "projectEvent",
        "receive",
        "events",
        summary="The projector (read models, the live event fan-out)",
        bindings=_group(settings, "projector"),
    )
    part.operation(
        "writeSnapshot",
        "send",
        "snapshots",
        summary="INTERNAL: the partition's owner",
        **{"x-internal": True},
    )
    part.operation(
        "restoreSnapshot",
        "receive",
        "snapshots",
        summary="INTERNAL: a worker taking a partition over",
        **{"x-internal": True},
    )
    return part
