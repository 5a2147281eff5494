"""The audio topic's messages: caller frames and mark echoes, in a compact JSON form, and the
producer the edge sends them with.

The hot path: one message per 20 ms frame per call. The edge writes these without pydantic and
without decoding the base64 payload (the model takes base64 μ-law as Twilio sends it), on a bare
aiokafka producer (no headers, no codec; a :class:`~phony.events.producer.HealingProducer`, so a broker
restart costs the frames sent meanwhile, not the call), keyed by the call so they land on the call's
partition.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Literal

from phony.config import Settings
from phony.events.log import Topics, audio_producer_options, partition_for
from phony.events.producer import HealingProducer


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """A caller frame (``kind`` "a", ``payload`` base64 μ-law) or a played mark (``kind`` "m")."""

    kind: Literal["a", "m"]
    call_sid: str
    timestamp_ms: int
    payload: str  # base64 audio for "a", the mark name for "m"
    sent_at: float = 0.0  # the edge's time.time() when it read the frame (latency measurement)

    def encode(self) -> bytes:
        if self.kind == "a":  # the hot path: a SID and base64 need no escaping, numbers are numbers
            return f'["a","{self.call_sid}",{self.timestamp_ms},"{self.payload}",{self.sent_at!r}]'.encode()
        return json.dumps(
            [self.kind, self.call_sid, self.timestamp_ms, self.payload, self.sent_at], separators=(",", ":")
        ).encode()

    @classmethod
    def decode(cls, raw: bytes) -> AudioFrame:
        kind, call_sid, timestamp_ms, payload, sent_at = json.loads(raw)
        if kind not in ("a", "m"):
            raise ValueError(f"unknown audio message kind {kind!r}")
        return cls(kind, str(call_sid), int(timestamp_ms), str(payload), float(sent_at))


@functools.lru_cache(maxsize=16_384)
def call_partition(call_sid: str, partitions: int) -> int:
    """The call's partition, as Kafka's default partitioner picks it for the key: aiokafka's murmur2
    is pure Python, 5% of ``phony serve``'s CPU at 50 calls when it ran for every frame."""
    return partition_for(call_sid, partitions)


class AudioProducer:
    """Sends audio messages to the audio topic without waiting for each acknowledgement: the producer
    keeps order per partition (idempotent), and a frame lost with a dying edge, or refused while the
    broker restarts, is a 20 ms gap (counted in ``producer.errors``, not logged one by one)."""

    def __init__(self, settings: Settings) -> None:
        self._topic = Topics.of(settings).audio
        self._partitions = settings.partitions
        self.producer = HealingProducer(
            settings, "edge-audio", **audio_producer_options(settings.audio_linger_ms)
        )

    async def start(self) -> None:
        """Start the producer (raises ``KafkaError`` when Kafka is unreachable)."""
        await self.producer.start()

    async def stop(self) -> None:
        """Flush and close the producer."""
        await self.producer.stop()

    async def send(self, frame: AudioFrame) -> None:
        """Queue ``frame`` for the broker (raises ``KafkaError`` when the producer cannot take it)."""
        key = frame.call_sid.encode()
        partition = call_partition(frame.call_sid, self._partitions)
        await self.producer.send(self._topic, frame.encode(), key, partition)
