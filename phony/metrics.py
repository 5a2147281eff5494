"""Every Prometheus metric of Phony, defined once, in a registry that one process's lifespan owns.

No module-level registry: :func:`Metrics.create` makes a fresh ``CollectorRegistry`` with all the
metrics in it, the edge's lifespan (or ``phony worker`` / ``phony projector``) creates one and hands
it down through its context, and ``phony serve`` shares the edge's with the worker and projector it
runs, so its one ``/metrics`` shows all of them. Tests and several apps in one interpreter therefore
never collide on metric names (the default ``REGISTRY`` would refuse the second registration).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "broker_consumers", "consumer_lag_sampler", "metrics_server"]

log = logging.getLogger(__name__)

# Seconds: from a few ms (a hop inside one machine) to several s (a slow model turn, a lagging log).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0)
LAG_SAMPLE_S = 2.0


@dataclass(frozen=True)
class Metrics:
    """The metrics of one process (see the module docstring for who owns them)."""

    registry: CollectorRegistry
    active_calls: Gauge
    turn_latency: Histogram
    audio_hop_latency: Histogram
    projection_lag: Histogram
    projector_parked: Counter
    consumer_lag: Gauge
    model_connect_attempts: Counter
    model_connect_failures: Counter
    event_sockets_open: Gauge
    http_request_duration: Histogram

    @classmethod
    def create(cls) -> Metrics:
        """A fresh registry holding every metric."""
        r = CollectorRegistry()
        return cls(
            registry=r,
            active_calls=Gauge("phony_active_calls", "Live calls owned by this process's worker", registry=r),
            turn_latency=Histogram(
                "phony_turn_latency_seconds",
                "Caller stopped speaking -> the reply's first audio (latency.measured turn_latency_ms)",
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            audio_hop_latency=Histogram(
                "phony_audio_hop_latency_seconds",
                "A model audio delta read by the worker -> its playback message sent to the edge",
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            projection_lag=Histogram(
                "phony_projection_lag_seconds",
                "How far behind the log an event was projected: now - event timestamp",
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
            projector_parked=Counter(
                "phony_projector_parked",
                "Events the read-model store refused, parked on <prefix>.parked (see phony parked)",
                ["type"],
                registry=r,
            ),
            consumer_lag=Gauge(
                "phony_kafka_consumer_lag",
                "Records on the partition not yet consumed: highwater - position",
                ["group", "topic", "partition"],
                registry=r,
            ),
            model_connect_attempts=Counter(
                "phony_model_connect_attempts", "Realtime model connect attempts", registry=r
            ),
            model_connect_failures=Counter(
                "phony_model_connect_failures", "Realtime model connect attempts that failed", registry=r
            ),
            event_sockets_open=Gauge(
                "phony_event_sockets_open", "Events WebSockets open on this edge", registry=r
            ),
            http_request_duration=Histogram(
                "phony_http_request_duration_seconds",
                "HTTP requests by method, route template and status",
                ["method", "route", "status"],
                buckets=LATENCY_BUCKETS,
                registry=r,
            ),
        )

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


@asynccontextmanager
async def metrics_server(metrics: Metrics, host: str, port: int) -> AsyncIterator[None]:
    """Serve ``/metrics`` on ``host:port`` for the context's lifetime (0: no server). For processes
    without an edge (``phony worker``, ``phony projector``); prometheus-client's small server runs in
    its own thread, so a busy event loop does not hold up a scrape."""
    if not port:
        yield
        return
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


Consumers = Callable[[], Iterable[tuple[str, Any]]]  # (group, aiokafka consumer) pairs


def broker_consumers(group: str, broker: Any) -> Consumers:
    """The aiokafka consumers behind a FastStream broker's subscribers (one each, or one per worker
    slot of a concurrent subscriber), as they are at each sample (they change on restarts)."""

    def found() -> list[tuple[str, Any]]:
        running: list[Any] = []
        for subscriber in broker.subscribers:
            running += getattr(subscriber, "consumer_subgroup", None) or [subscriber.consumer]
        return [(group, c) for c in running if c is not None]

    return found


async def _sample(metrics: Metrics, consumers: Consumers) -> None:
    for group, consumer in consumers():
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:  # nothing fetched yet
                continue
            with contextlib.suppress(Exception):  # partition revoked meanwhile
                position = await consumer.position(tp)
                lag = max(0, highwater - position)
                metrics.consumer_lag.labels(group, tp.topic, str(tp.partition)).set(lag)


@asynccontextmanager
async def consumer_lag_sampler(
    metrics: Metrics, consumers: Consumers, every_s: float = LAG_SAMPLE_S
) -> AsyncIterator[None]:
    """Sample each consumer's lag per assigned partition every ``every_s`` while the context lasts."""

    async def loop() -> None:
        while True:
            try:
                await _sample(metrics, consumers)
            except Exception:  # never let sampling take the process down
                log.debug("consumer lag sampling failed", exc_info=True)
            await asyncio.sleep(every_s)

    task = asyncio.create_task(loop(), name="consumer-lag")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
