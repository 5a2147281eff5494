"""Servers from testcontainers, for machines where a Docker daemon answers (PHONY_TEST_DOCKER=1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.support import Servers


@contextmanager
def container_servers() -> Iterator[Servers]:
    """Real Kafka, MongoDB and Redis images, as in docker-compose.yml."""
    from testcontainers.kafka import KafkaContainer
    from testcontainers.mongodb import MongoDbContainer
    from testcontainers.redis import RedisContainer

    with (
        KafkaContainer("confluentinc/cp-kafka:7.8.0").with_kraft() as kafka,
        MongoDbContainer("mongo:7.0", username=None, password=None) as mongo,
        RedisContainer("redis:7-alpine") as redis,
    ):
        host = redis.get_container_host_ip()
        yield Servers(
            kafka=kafka.get_bootstrap_server(),
            mongodb=f"mongodb://{mongo.get_container_host_ip()}:{mongo.get_exposed_port(27017)}",
            redis=f"redis://{host}:{redis.get_exposed_port(6379)}/0",
        )
