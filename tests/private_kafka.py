"""A Kafka broker of a test's own, to kill and restart: the jars ``scripts/services.sh`` installs
(``.services/kafka/lib``), a single KRaft node configured as that script configures the shared one,
on free ports, with its data in a temporary directory.

Every step is bounded in time, and :func:`private_kafka` kills the broker on the way out whatever
happened, so a failing test leaves no JVM behind.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.support import ROOT, free_port

LIB = Path(os.environ.get("PHONY_SERVICES_DIR", ROOT / ".services")) / "kafka" / "lib"
JAVA_FLAGS = [
    "-Xmx384m",
    "-Xms128m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:TieredStopAtLevel=1",  # a test broker lives seconds: start fast rather than run fast
    "-Djava.awt.headless=true",
]
FORMAT_TIMEOUT_S = 60.0
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0

PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{cport}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}
advertised.listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data}
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=2
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
# A broker restarted after SIGKILL cannot register until its old registration's session ends (9 s
# by default): keep the test's restarts short.
broker.session.timeout.ms=2000
broker.heartbeat.interval.ms=500
transaction.state.log.segment.bytes=10485760
auto.create.topics.enable=false
log.retention.hours=-1
"""

LOG4J = """\
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
"""


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def available() -> bool:
    """Whether the broker's jars are installed (``scripts/services.sh install`` puts them there)."""
    return any(LIB.glob("kafka_2.13-*.jar"))


@dataclass
class PrivateKafka:
    """One broker+controller node in ``directory``; ``kill``/``stop`` it and ``start`` it again on
    the same ports and data."""

    directory: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.directory / "kafka-server.log"

    def _java(self, *args: str) -> list[str]:
        log4j = f"-Dlog4j2.configurationFile={self.directory / 'log4j2.properties'}"
        return ["java", *JAVA_FLAGS, log4j, "-cp", f"{LIB}/*", *args]

    def format(self) -> None:
        """Write the configuration and format the storage (once per directory)."""
        data = self.directory / "data"
        data.mkdir(parents=True, exist_ok=True)
        properties = self.directory / "server.properties"
        properties.write_text(PROPERTIES.format(port=self.port, cport=self.controller_port, data=data))
        (self.directory / "log4j2.properties").write_text(LOG4J.format(log=self.log_path))
        if (data / "meta.properties").exists():
            return
        cluster = subprocess.run(
            self._java("kafka.tools.StorageTool", "random-uuid"),
            capture_output=True,
            text=True,
            check=True,
            timeout=FORMAT_TIMEOUT_S,
        ).stdout.split()[-1]
        subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster,
                "-c",
                str(properties),
                "--standalone",
                "--ignore-formatted",
            ),
            capture_output=True,
            check=True,
            timeout=FORMAT_TIMEOUT_S,
        )

    def start(self) -> None:
        """Launch ``kafka.Kafka`` (formatting first if needed); :meth:`ready` waits for it."""
        assert self.proc is None or self.proc.poll() is not None, "the broker is running"
        self.format()
        with (self.directory / "kafka.out").open("ab") as out:
            self.proc = subprocess.Popen(
                self._java("kafka.Kafka", str(self.directory / "server.properties")),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def ready(self, within: float = START_TIMEOUT_S) -> None:
        """Wait until the broker answers a metadata request."""
        deadline = time.monotonic() + within
        while True:
            if self.proc is None or self.proc.poll() is not None:
                raise AssertionError(f"the private broker exited:\n{self.tail()}")
            if not _port_open(self.port):  # no client (and its error log) before there is a listener
                if time.monotonic() > deadline:
                    raise AssertionError(f"the private broker did not listen in {within}s:\n{self.tail()}")
                await asyncio.sleep(0.2)
                continue
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=2000)
            try:
                await admin.start()
                await admin.list_topics()
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    message = f"the private broker did not start in {within}s:\n{self.tail()}"
                    raise AssertionError(message) from exc
            finally:
                await admin.close()
            await asyncio.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: the broker dies as a crashed machine's would (its page cache survives)."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM (a controlled shutdown), SIGKILL if it takes longer than :data:`STOP_TIMEOUT_S`."""
        self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT_S)

    async def restart(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Stop with ``sig``, start again on the same ports and data, and wait until it serves."""
        await asyncio.to_thread(self._signal, sig)
        await asyncio.to_thread(self.start)  # formatting and forking a JVM must not block the loop
        await self.ready()

    def tail(self, lines: int = 40) -> str:
        text = ""
        for path in (self.directory / "kafka.out", self.log_path):
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text


@asynccontextmanager
async def private_kafka(directory: Path) -> AsyncIterator[PrivateKafka]:
    """A started private broker in ``directory``, killed on exit whatever happened."""
    broker = PrivateKafka(directory)
    try:
        await asyncio.to_thread(broker.start)
        await broker.ready()
        yield broker
    finally:
        broker.kill()


async def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """A topic of ``partitions`` partitions, replication 1."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


async def read_topic(
    bootstrap: str, topic: str, partitions: int, within: float = 30.0
) -> list[ConsumerRecord[Any, Any]]:
    """Every committed record of ``topic`` up to its end as of the call, partition by partition: the
    Kafka log itself, with each record's offset and timestamp."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        isolation_level="read_committed",  # the workers write events in transactions
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: list[ConsumerRecord[Any, Any]] = []
        deadline = time.monotonic() + within
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            assert time.monotonic() < deadline, f"{topic} not read to its end in {within}s"
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found.extend(r for r in records if r.offset < ends[TopicPartition(r.topic, r.partition)])
        return sorted(found, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()
