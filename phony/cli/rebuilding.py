"""``phony rebuild``'s progress: how much of the log there is, and how far the rebuild has got."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from phony.config import Settings
from phony.events.log import LoggedEvent, Topics


async def log_extents(settings: Settings) -> dict[int, range]:
    """The offsets on each partition of the events topic now (events and transaction markers): how
    far a replay has to go."""
    topic = Topics.of(settings).events
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        found = consumer.partitions_for_topic(topic) or set(range(settings.partitions))
        tps = [TopicPartition(topic, p) for p in sorted(found)]
        begins = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        return {tp.partition: range(begins[tp], ends[tp]) for tp in tps}
    finally:
        await consumer.stop()


@dataclass
class Tally:
    """How far a replay of the log has got: events seen, offsets passed, and how fast."""

    extents: dict[int, range]
    events: int = 0
    reached: dict[int, int] = field(default_factory=dict)
    began: float = field(default_factory=time.monotonic)
    first_at: float | None = None

    def passed(self, logged: LoggedEvent) -> None:
        if self.first_at is None:
            self.first_at = time.monotonic()
        self.events += 1
        self.reached[logged.partition] = logged.offset + 1

    @property
    def total(self) -> int:
        """The offsets to pass (at least 1: an empty log is done at once)."""
        return max(1, sum(len(r) for r in self.extents.values()))

    @property
    def completed(self) -> int:
        starts = {p: r.start for p, r in self.extents.items()}
        return min(self.total, sum(end - starts.get(p, 0) for p, end in self.reached.items()))

    @property
    def seconds(self) -> float:
        """Since the rebuild began (dropping and recreating the read models included)."""
        return time.monotonic() - self.began

    @property
    def rate(self) -> float:
        """Events per second since the first event was read."""
        if self.first_at is None:
            return 0.0
        return self.events / max(time.monotonic() - self.first_at, 1e-3)
