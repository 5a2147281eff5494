"""The snapshots topic, ``<prefix>.snapshots``: a compacted changelog of the aggregate states of each
partition of the events topic, partition *p* of it holding the states of the aggregates keyed to *p*.

Its records are written only by *p*'s owner, through *p*'s transactional producer
(:mod:`phony.workers.partition_writer`), and read with ``read_committed``: a fenced worker's records
never count. What the records mean is :mod:`phony.workers.snapshots`' business; this module knows the
topic and reads the latest record of each key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from phony.config import Settings

Headers = tuple[tuple[str, bytes], ...]
# (key, value, headers) of one changelog record.
SnapshotRecord = tuple[bytes, bytes, Headers]

# Compaction keeps the latest record of every key; it cleans closed segments only, so the active one
# is rolled every hour: a restore then reads at most about an hour of superseded records.
TOPIC_CONFIG = {"cleanup.policy": "compact", "segment.ms": str(3_600_000)}
# A restore reads the whole (compacted) partition: take it in few, large fetches.
FETCH_BYTES = 16 * 1024 * 1024


def snapshot_topic(settings: Settings) -> str:
    return settings.topic("snapshots")


async def ensure_snapshot_topic(settings: Settings) -> None:
    """Create the snapshots topic, co-partitioned with the events topic (a no-op when it exists)."""
    topic = snapshot_topic(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        if topic not in set(await admin.list_topics()):
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker was first
                await admin.create_topics(
                    [NewTopic(topic, settings.partitions, 1, topic_configs=TOPIC_CONFIG)]
                )
    finally:
        await admin.close()


async def read_latest(settings: Settings, partition: int) -> dict[bytes, tuple[bytes, Headers]]:
    """The latest committed value (and its headers) of every key on ``partition`` of the snapshots
    topic, as of its end when called; empty when the topic does not exist yet."""
    topic = snapshot_topic(settings)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_partition_fetch_bytes=FETCH_BYTES,
    )
    latest: dict[bytes, tuple[bytes, Headers]] = {}
    await consumer.start()
    try:
        # Asked of the broker, not of the metadata the consumer started with: a topic created a moment
        # ago may not be in that yet.
        if topic not in await consumer.topics():
            return latest
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, 0)
        while end > 0 and await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            for record in batch.get(tp, ()):
                if record.offset >= end or record.key is None:
                    continue
                if record.value is None:  # a tombstone: the key is gone
                    latest.pop(record.key, None)
                else:
                    latest[record.key] = (record.value, _headers(record.headers))
    finally:
        await consumer.stop()
    return latest


def _headers(headers: Sequence[tuple[str, bytes]]) -> Headers:
    return tuple((name, value) for name, value in headers)
