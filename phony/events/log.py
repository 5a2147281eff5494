"""The event log on Kafka: topics, the producer settings every writer uses, and replay.

This module, ``phony.events.producer`` (the producer the edge's writers use) and
``phony.events.kafka_logs`` are the ones of ``phony.events`` that know Kafka; the rest is plain data.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage

from phony.config import Settings
from phony.events.codec import decode
from phony.events.envelope import EventEnvelope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Topics:
    """The topics, co-partitioned: same key and partition count, so partition *p* of each belongs to
    the same worker. ``parked`` holds the events the read-model store refused
    (:mod:`phony.projections.parking`)."""

    commands: str
    audio: str
    events: str
    parked: str

    @classmethod
    def of(cls, settings: Settings) -> Topics:
        return cls(
            settings.topic("commands"),
            settings.topic("audio"),
            settings.topic("events"),
            settings.topic("parked"),
        )


def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` (murmur2, as in the Java client)."""
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % partitions


# Every producer of Phony: idempotent with ``acks=all`` (no lost or doubled writes), sent at once.
PRODUCER_OPTIONS: dict[str, Any] = {
    "enable_idempotence": True,
    "acks": "all",
    "linger_ms": 0,
    "request_timeout_ms": 15_000,
}


def make_broker(settings: Settings, client_id: str) -> KafkaBroker:
    """A FastStream broker whose producer has the :data:`PRODUCER_OPTIONS`."""
    return KafkaBroker(
        settings.kafka_bootstrap,
        client_id=client_id,
        logger=logging.getLogger(f"phony.kafka.{client_id}"),
        log_level=logging.DEBUG,
        **PRODUCER_OPTIONS,
    )


AUDIO_BATCH_BYTES = 512 * 1024


def audio_producer_options(linger_ms: int = 0) -> dict[str, Any]:
    """What the audio hot path's producer sets beyond :data:`PRODUCER_OPTIONS` (it is a bare aiokafka
    producer: FastStream's publish adds headers, a codec and middlewares per message that a 20 ms frame
    does not need). ``linger_ms`` lets it wait that long to put more frames in one request.

    An idempotent aiokafka producer has one batch in flight per partition, and a full batch makes
    ``send`` wait for the one before it: with the default 16 KB a partition carried about one round
    trip's worth of 60 frames, and at 200 calls the edge's sends waited whole seconds. Batches of up to
    :data:`AUDIO_BATCH_BYTES` take what arrives during a round trip."""
    return {
        "linger_ms": linger_ms,
        "max_batch_size": AUDIO_BATCH_BYTES,
        "max_request_size": 2 * AUDIO_BATCH_BYTES,
    }


@dataclass(frozen=True)
class Records:
    """What a Phony subscriber's handler gets: the Kafka records themselves (one, or a batch), and
    FastStream's message for them (to commit or seek back by hand)."""

    records: tuple[ConsumerRecord[Any, Any], ...]
    message: StreamMessage[Any]


async def raw_records(message: StreamMessage[Any], _default: Any) -> Records:
    """A subscriber's decoder that hands its handler the records as :class:`Records`.

    The handler then takes one plain argument and nothing from FastStream's context: resolving a
    ``KafkaMessage`` parameter runs in a thread per message (a sync dependency of fast_depends), and the
    default decoder would JSON-decode audio frames that the handler reads its own way."""
    raw = message.raw_message
    return Records(raw if isinstance(raw, tuple) else (raw,), message)


# A command's record carries the broker's append time, which the edge and the worker both read to
# decide whether it came in time to count (phony.commands.expiry).
COMMANDS_TOPIC_CONFIG = {"message.timestamp.type": "LogAppendTime"}
DYNAMIC_TOPIC_CONFIG = 1  # DescribeConfigs' config_source of a setting made for the topic itself


def topic_configs(settings: Settings) -> dict[str, dict[str, str]]:
    """Each topic's name and the settings it is created with (beyond its partition count): commands
    stamped at append, audio kept for ``PHONY_AUDIO_RETENTION_MS``, events and parked events kept
    forever."""
    topics = Topics.of(settings)
    return {
        topics.commands: COMMANDS_TOPIC_CONFIG,
        topics.audio: {"retention.ms": str(settings.audio_retention_ms)},
        topics.events: {"retention.ms": "-1"},
        topics.parked: {"retention.ms": "-1"},
    }


async def ensure_topics(settings: Settings) -> None:
    """Create the topics with the configured partition counts (a no-op when they exist), and give an
    older commands topic its :data:`COMMANDS_TOPIC_CONFIG`."""
    topics = Topics.of(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        wanted = [
            NewTopic(name, settings.partitions, 1, topic_configs=config)
            for name, config in topic_configs(settings).items()
        ]
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process was first
                await admin.create_topics(missing)
        if topics.commands in existing:
            await _configure(admin, topics.commands, COMMANDS_TOPIC_CONFIG)
    finally:
        await admin.close()


async def _configure(admin: AIOKafkaAdminClient, topic: str, wanted: dict[str, str]) -> None:
    """Set ``wanted`` on an existing ``topic``, keeping its other settings: AlterConfigs (aiokafka has
    no incremental variant) replaces every setting made for the topic."""
    [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    entries = response.resources[0][4]
    current = {e[0]: e[1] for e in entries if e[3] == DYNAMIC_TOPIC_CONFIG}
    values = {e[0]: e[1] for e in entries}
    if all(values.get(k) == v for k, v in wanted.items()):
        return
    log.warning("topic %s: setting %s", topic, wanted)
    [altered] = await admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic, {**current, **wanted})]
    )
    for error_code, message, *_ in altered.resources:
        if error_code:  # not fatal: the topic works, only late commands are not told apart
            log.error("topic %s: could not set %s: error %s %s", topic, wanted, error_code, message)


@dataclass(frozen=True)
class LoggedEvent:
    """An event with its place on the log."""

    partition: int
    offset: int
    event: EventEnvelope


async def read_log(
    settings: Settings,
    *,
    aggregate_id: str | None = None,
    partitions: list[int] | None = None,
    from_offsets: dict[int, int] | None = None,
) -> AsyncIterator[LoggedEvent]:
    """Replay the events topic up to its end as of the call: everything, some partitions, or the
    events of one aggregate (reading only the partition its key maps to). Events come upcast."""
    if aggregate_id is not None:
        partitions = [partition_for(aggregate_id, settings.partitions)]
    topic = Topics.of(settings).events
    async for record in read_topic(settings, topic, partitions=partitions, from_offsets=from_offsets):
        event = decode(record.value)
        if aggregate_id is None or event.aggregate_id == aggregate_id:
            yield LoggedEvent(record.partition, record.offset, event)


async def read_topic(
    settings: Settings,
    topic: str,
    *,
    partitions: list[int] | None = None,
    from_offsets: dict[int, int] | None = None,
    missing_ok: bool = False,
) -> AsyncIterator[ConsumerRecord[Any, Any]]:
    """The records of ``topic`` (or of some of its partitions, each from its offset in
    ``from_offsets``, else 0) up to its end as of the call, tombstones left out; with ``missing_ok``,
    none when the topic does not exist (else the broker is asked for it as it is)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
        # Events are written in transactions (one writer per partition): an aborted one, a fenced
        # worker's, never happened.
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        if missing_ok and topic not in await consumer.topics():
            return
        if partitions is None:
            # The consumer's metadata may not have a topic made a moment ago: its partitions are ours.
            partitions = sorted(consumer.partitions_for_topic(topic) or range(settings.partitions))
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            start = (from_offsets or {}).get(tp.partition, 0)
            consumer.seek(tp, start)
        pending = {tp for tp in tps if ends[tp] > (from_offsets or {}).get(tp.partition, 0)}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset < ends[tp] and record.value is not None:
                        yield record
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
