"""Keep the Kafka client's repeated complaints to a line every few seconds.

While a broker is unreachable and a partition's leader is unknown, aiokafka asks for metadata in a
loop with no pause and logs two ERROR lines each time ("Unable connect to node", "Unable to update
metadata"): about 12,000 lines in a three-second outage on this machine. Each Phony process quiets
those loggers at start-up with :func:`quiet_kafka_client_logs`.
"""

from __future__ import annotations

import logging
import time

KAFKA_CLIENT_LOGGERS = (
    "aiokafka",
    "aiokafka.conn",
    "aiokafka.cluster",
    "aiokafka.admin.client",
    "aiokafka.producer.producer",
    "aiokafka.producer.sender",
    "aiokafka.consumer.consumer",
    "aiokafka.consumer.fetcher",
    "aiokafka.consumer.group_coordinator",
)
EVERY_S = 5.0


class RepeatsFilter(logging.Filter):
    """Lets each message template of a logger (at WARNING and above) through at most once per
    ``every_s``; the next one let through says how many were held back meanwhile."""

    def __init__(self, every_s: float = EVERY_S) -> None:
        super().__init__()
        self._every = every_s
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}  # key -> (last let through, held)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, str(record.msg))  # the template, not the formatted text
        now = time.monotonic()
        last, held = self._seen.get(key, (float("-inf"), 0))
        if now - last < self._every:
            self._seen[key] = (last, held + 1)
            return False
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} [and {held} more like it in the last {now - last:.0f} s]"
        return True


def quiet_kafka_client_logs(every_s: float = EVERY_S) -> None:
    """Put a :class:`RepeatsFilter` on the Kafka client's loggers (once per process)."""
    shared = RepeatsFilter(every_s)
    for name in KAFKA_CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RepeatsFilter) for f in logger.filters):
            logger.addFilter(shared)
