"""Kafka restarts under load (SPEC §7): producers heal with a fresh producer id and lose nothing they
acknowledged; while the broker is down a REST write or an override answers within
PHONY_KAFKA_WRITE_TIMEOUT_S, and afterwards the log holds exactly what was answered as written."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError
from aiokafka.structs import RecordMetadata, TopicPartition

from phony.commands import decode_command, expired
from phony.commands.agents import CreateAgent
from phony.commands.audio import call_partition
from phony.commands.calls import SendText
from phony.commands.expiry import cutoff_s, with_deadline
from phony.config import Settings
from phony.events.kafka_logs import quiet_kafka_client_logs
from phony.events.log import Topics, ensure_topics, read_log
from phony.events.producer import HealingProducer
from phony.sim.twilio import TwilioSim
from tests.calls import call_events, ring, wait_for_event
from tests.deployment import log_problems, owned_partitions, tenant_on
from tests.private_kafka import PrivateKafka, available, create_topic, private_kafka, read_topic
from tests.support import (
    PhonyProcess,
    Servers,
    SimEnv,
    agent_body,
    drop_namespace,
    eventually,
    namespace_settings,
    phony_env,
)

PARTITIONS = 2
RECORD_TTL_MS = 1500  # the test producer's request timeout: a batch expires this long without a leader
OUTAGE_S = 3.0  # longer than RECORD_TTL_MS: what the restart leaves behind is a sequence gap
BOUND_S = 2.0  # PHONY_KAFKA_WRITE_TIMEOUT_S of the Phony under test
MARGIN_S = 1.0  # an HTTP round trip, the key check and the call lookup on top of the bound


@pytest.fixture(scope="module")
async def kafka(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PrivateKafka]:
    if not available():
        pytest.skip("no Kafka jars in .services/kafka/lib (scripts/services.sh install)")
    async with private_kafka(tmp_path_factory.mktemp("private-kafka")) as broker:
        # Transactions create their state topic on first use, which makes a worker's first claim of
        # its partitions slow: have that done before any Phony starts, as on a broker in service.
        warm = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="warm-up")
        await warm.start()
        async with warm.transaction():
            pass
        await warm.stop()
        yield broker


async def outage(kafka: PrivateKafka) -> float:
    """Stop the broker as an operator's restart does (SIGTERM: a controlled shutdown, whose leaderless
    partitions are what strands an idempotent producer), keep it down for :data:`OUTAGE_S`, start it
    again; return when it is back (monotonic)."""
    await asyncio.to_thread(kafka.stop)
    await asyncio.sleep(OUTAGE_S)  # the outage itself is the test's input
    await asyncio.to_thread(kafka.start)
    await kafka.ready()
    return time.monotonic()


def storm_free(caplog: pytest.LogCaptureFixture, seconds: float) -> None:
    """Repeated producer errors make at most a line per report interval (and a line per replacement),
    the Kafka client's own a line per kind per interval, and no delivery failure goes unretrieved
    (asyncio would log each one)."""
    ours = [r.getMessage() for r in caplog.records if r.name == "phony.events.producer"]
    assert len(ours) <= seconds / 5 + 4, ours
    client = [r.getMessage() for r in caplog.records if r.name.startswith("aiokafka")]
    assert len(client) <= 10 * (seconds / 5 + 1), client
    assert not [r for r in caplog.records if "exception was never retrieved" in r.getMessage()]


def test_a_bounded_command_expires_once_appended_after_its_deadline() -> None:
    settings = Settings(_env_file=None, kafka_write_timeout_s=5)
    issued = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    command = with_deadline(SendText(tenant_id="t", aggregate_id="CA1", text="hi"), settings, now=issued)
    assert command.append_by == issued + timedelta(seconds=4)
    deadline_ms = int(command.append_by.timestamp() * 1000)
    assert not expired(command, deadline_ms)
    assert expired(command, deadline_ms + 1)
    assert not expired(SendText(tenant_id="t", aggregate_id="CA1", text="hi"), 2**62)  # no deadline
    assert cutoff_s(Settings(_env_file=None, kafka_write_timeout_s=1)) == 0.5


async def test_ensure_topics_gives_an_older_commands_topic_log_append_time(servers: Servers) -> None:
    space = f"t{uuid.uuid4().hex[:10]}"
    settings = Settings(_env_file=None, kafka_bootstrap=servers.kafka, topic_prefix=space, partitions=1)
    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka)
    await admin.start()
    try:
        commands = Topics.of(settings).commands
        await admin.create_topics([NewTopic(commands, 1, 1, topic_configs={"retention.ms": "86400000"})])
        await ensure_topics(settings)

        async def configured() -> dict[str, str]:
            [found] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, commands)])
            return {e[0]: e[1] for e in found.resources[0][4]}

        # A change of configuration reaches the broker through the metadata log: a moment later.
        values = await eventually(configured, lambda v: v["message.timestamp.type"] == "LogAppendTime")
        assert values["retention.ms"] == "86400000"  # what the topic had is kept
    finally:
        await admin.close()
        await drop_namespace(servers, space)


async def test_a_sequence_gap_gets_a_fresh_producer_and_the_refused_record_is_sent_again(
    servers: Servers,
) -> None:
    topic = f"heal-{uuid.uuid4().hex[:8]}"
    await create_topic(servers.kafka, topic, 1)
    producer = HealingProducer(Settings(_env_file=None, kafka_bootstrap=servers.kafka), "test-gap")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"before", b"k", timeout_s=10)
        first = producer.producer_id
        # What a batch that expired unsent leaves behind: the producer's next sequence number is past
        # the broker's (aiokafka's sequence bookkeeping is private).
        producer._current.producer._txn_manager.increment_sequence_number(TopicPartition(topic, 0), 3)
        after = await producer.send_and_wait(topic, b"after", b"k", timeout_s=10)
        assert producer.replacements == 1
        assert producer.producer_id not in (None, first)
        assert producer.errors.total >= 1
        await producer.send(topic, b"queued", b"k")
    finally:
        await producer.stop()
    records = await read_topic(servers.kafka, topic, 1)
    assert [r.value for r in records] == [b"before", b"after", b"queued"]
    assert records[1].offset == after.offset


async def test_fire_and_forget_sends_heal_after_a_sequence_gap(servers: Servers) -> None:
    topic = f"heal-{uuid.uuid4().hex[:8]}"
    await create_topic(servers.kafka, topic, 1)
    producer = HealingProducer(Settings(_env_file=None, kafka_bootstrap=servers.kafka), "test-gap-audio")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"before", b"k", timeout_s=10)
        producer._current.producer._txn_manager.increment_sequence_number(TopicPartition(topic, 0), 3)
        sent = 0

        async def replaced() -> int:  # as the audio path does: a frame every few milliseconds
            nonlocal sent
            await producer.send(topic, b"lost-%d" % sent, b"k")
            sent += 1
            return producer.replacements

        await eventually(replaced, lambda n: n == 1, interval=0.005)
        after = [b"after-%d" % i for i in range(20)]
        for value in after:
            await producer.send(topic, value, b"k")
    finally:
        await producer.stop()
    values = [r.value for r in await read_topic(servers.kafka, topic, 1)]
    assert values[0] == b"before"
    assert values[-len(after) :] == after  # in order, none lost, once healed
    assert len(values) == len(set(values))


async def test_a_healing_producer_keeps_every_acknowledged_record_once_across_a_broker_restart(
    kafka: PrivateKafka, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    quiet_kafka_client_logs()  # as every Phony process does at start-up
    topic = f"heal-{uuid.uuid4().hex[:8]}"
    await create_topic(kafka.bootstrap, topic, 4)
    settings = Settings(_env_file=None, kafka_bootstrap=kafka.bootstrap)
    producer = HealingProducer(settings, "test-restart", request_timeout_ms=RECORD_TTL_MS)
    await producer.start()
    first_id = producer.producer_id
    acked: dict[bytes, RecordMetadata] = {}
    acked_at: dict[bytes, float] = {}
    waiting: set[asyncio.Task[None]] = set()
    started = time.monotonic()

    async def acknowledged(value: bytes, key: bytes) -> None:
        try:
            with_ack = await producer.send_and_wait(topic, value, key, timeout_s=1.0)
        except KafkaError:
            return  # not acknowledged in time (the broker is away): it may or may not be written
        acked[value], acked_at[value] = with_ack, time.monotonic()

    async def acked_count() -> int:
        return len(acked)

    async def pump(stop: asyncio.Event) -> None:
        i = 0
        while not stop.is_set():
            key = b"k%d" % (i % 8)
            task = asyncio.create_task(acknowledged(b"w%d" % i, key))
            waiting.add(task)
            task.add_done_callback(waiting.discard)
            # Fire and forget, as the audio path does; one that cannot be queued is counted by the producer.
            with contextlib.suppress(KafkaError):
                await producer.send(topic, b"f%d" % i, key)
            i += 1
            await asyncio.sleep(0.01)

    stop = asyncio.Event()
    pumping = asyncio.create_task(pump(stop))
    try:
        await eventually(acked_count, lambda n: n >= 50)
        back_at = await outage(kafka)

        async def acked_since_back() -> int:
            return sum(1 for t in acked_at.values() if t > back_at)

        await eventually(acked_since_back, lambda n: n >= 100, within=30)
    finally:
        stop.set()
        await pumping
        await asyncio.gather(*waiting, return_exceptions=True)
    after = [b"a%d" % i for i in range(100)]
    for i, value in enumerate(after):
        await producer.send(topic, value, b"k%d" % (i % 8))
    await producer.stop()  # flushes

    records = await read_topic(kafka.bootstrap, topic, 4)
    values = Counter(r.value for r in records)
    assert [v for v, n in values.items() if n > 1] == []  # no duplicate, acknowledged or not
    at = {(r.partition, r.offset): r.value for r in records}
    assert {v for v, m in acked.items() if at.get((m.partition, m.offset)) != v} == set()
    assert set(after) <= set(values)
    print(
        f"{len(acked)} acknowledged, {len(records)} on the log, {producer.errors.total} errors counted, "
        f"{producer.replacements} replacements (producer id {first_id} -> {producer.producer_id}), "
        f"{len(caplog.records)} log lines"
    )
    assert producer.replacements >= 1  # the restart left a sequence gap, and it healed
    assert producer.producer_id != first_id
    storm_free(caplog, time.monotonic() - started)


@dataclass
class Write:
    """One REST write issued during the test, and how it was answered."""

    kind: str  # "agent" or "text"
    marker: str  # the agent's name or the supervisor's text: unique, to find it on the log
    started: float
    took: float
    status: int
    body: dict[str, Any]

    @property
    def refused(self) -> bool:
        """Answered 503 because Kafka did not take it (a 503 for a projection that was late is not)."""
        return self.status == 503 and self.body["error"]["details"].get("dependency") == "kafka"


@pytest.fixture
async def deployment(
    kafka: PrivateKafka, servers: Servers, sims: SimEnv, log_dir: Path
) -> AsyncIterator[tuple[PhonyProcess, Settings]]:
    """An edge, a worker and a projector on the private broker, in their own namespace."""
    on_kafka = Servers(kafka.bootstrap, servers.mongodb, servers.redis)
    space = f"t{uuid.uuid4().hex[:10]}"
    env = phony_env(
        on_kafka, space, sims, PHONY_PARTITIONS=str(PARTITIONS), PHONY_KAFKA_WRITE_TIMEOUT_S=str(BOUND_S)
    )
    settings = namespace_settings(
        servers, space, PARTITIONS, kafka_bootstrap=kafka.bootstrap, kafka_write_timeout_s=BOUND_S
    )
    edge, worker, projector = (PhonyProcess(role, env) for role in ("edge", "worker", "projector"))
    try:
        for process in (edge, worker, projector):
            process.start(log_dir)
        await edge.ready()

        async def assigned() -> set[int]:
            return owned_partitions(worker)

        await eventually(assigned, lambda p: len(p) == PARTITIONS)
        yield edge, settings
    finally:
        for process in (edge, worker, projector):
            process.stop()
        await drop_namespace(on_kafka, space)


async def test_writes_during_a_broker_restart_answer_in_time_and_the_log_holds_what_was_answered(
    deployment: tuple[PhonyProcess, Settings], kafka: PrivateKafka, twilio_sim: TwilioSim
) -> None:
    edge, settings = deployment
    async with tenant_on(edge) as tenant:
        live = await ring(tenant, twilio_sim, edge, "hold", settings, require_approval=False)
        writes: list[Write] = []

        async def write(kind: str) -> Write:
            marker = f"{kind}-{uuid.uuid4().hex[:8]}"
            started = time.monotonic()
            if kind == "agent":
                r = await tenant.client.post("/agents/", json=agent_body(name=marker))
            else:
                r = await tenant.client.post(
                    "/override/text", json={"callSid": live.call.sid, "text": marker}
                )
            done = Write(kind, marker, started, time.monotonic() - started, r.status_code, r.json())
            writes.append(done)
            return done

        assert (await write("agent")).status == 201
        assert (await write("text")).status == 200
        down_from = time.monotonic()
        await asyncio.to_thread(kafka.stop)
        down_writes = await asyncio.gather(*(write(kind) for kind in ("agent", "text") * 3))
        down_until = time.monotonic()
        await asyncio.to_thread(kafka.start)
        await kafka.ready()

        # New writes work again (the edge's producer healed, the worker and projector came back).
        async def agent_written() -> int:
            return (await write("agent")).status

        await eventually(agent_written, lambda s: s == 201, within=60, interval=0.5)
        await eventually(lambda: write("text"), lambda w: w.status == 200, within=30, interval=0.5)
        # Hang up: the edge would otherwise hold the call's media socket open through its shutdown.
        ended = await tenant.client.post("/override/end", json={"callSid": live.call.sid})
        assert ended.status_code == 200, ended.text

    for w in writes:
        assert w.status in (200, 201) or (w.status == 503 and w.body["error"]["code"] == "UNAVAILABLE"), w
    for w in down_writes:  # Kafka was down all the while they waited
        assert down_from < w.started
        assert w.started + w.took < down_until
        assert w.refused, w
        assert w.took <= BOUND_S + MARGIN_S, w
    for w in writes:
        if w.kind == "text":
            assert w.took <= BOUND_S + MARGIN_S, w  # an override waits for Kafka, nothing else

    accepted = {w.marker for w in writes if not w.refused}
    refused = {w.marker for w in writes if w.refused}
    on_log: dict[str, list[bool]] = {}  # marker -> for each record of it: whether it expired
    commands = await read_topic(kafka.bootstrap, Topics.of(settings).commands, PARTITIONS)
    assert {r.timestamp_type for r in commands} == {1}  # the broker's append time
    for record in commands:
        command = decode_command(record.value)
        if isinstance(command, CreateAgent):
            on_log.setdefault(command.settings.name, []).append(expired(command, record.timestamp))
        elif isinstance(command, SendText):
            on_log.setdefault(command.text, []).append(expired(command, record.timestamp))
    assert {m: on_log.get(m) for m in accepted} == {m: [False] for m in accepted}  # once, in time
    assert {m: on_log.get(m) for m in refused if False in on_log.get(m, [])} == {}

    async def carried_out() -> Counter[str]:
        found = Counter[str]()
        async for logged in read_log(settings):
            if logged.event.type == "agent.created":
                found[logged.event.data["settings"]["name"]] += 1
            elif logged.event.type == "supervisor.text_sent":
                found[logged.event.data["text"]] += 1
        return found

    # A write answered 503 for a late projection was accepted: its event may still be on its way.
    events = await eventually(carried_out, lambda found: all(found[m] for m in accepted), within=30)
    assert {m: events[m] for m in accepted} == dict.fromkeys(accepted, 1)
    print(
        f"{len(accepted)} accepted, {len(refused)} refused, of which on the commands topic (expired): "
        f"{sorted(m for m in refused if m in on_log)}; carried out: {sorted(m for m in refused if events[m])}"
    )
    assert sorted(m for m in refused if events[m]) == []  # the worker dropped those that came late


async def test_a_live_call_goes_on_after_a_broker_restart_and_new_calls_work_on_every_partition(
    deployment: tuple[PhonyProcess, Settings], kafka: PrivateKafka, twilio_sim: TwilioSim
) -> None:
    edge, settings = deployment
    async with tenant_on(edge) as tenant:
        live = await ring(tenant, twilio_sim, edge, "hold", settings, require_approval=False)
        await wait_for_event(settings, live.call.sid, "ai.response", within=60)

        await kafka.restart(signal.SIGKILL)
        back_at = time.monotonic()

        async def heard_since() -> float | None:
            return live.call.first_ai_audio_after(back_at)

        heard = await eventually(heard_since, lambda t: t is not None, within=90, interval=0.2)
        assert heard is not None
        print(f"caller heard the AI again {heard - back_at:.2f} s after the broker was back")
        last = (await call_events(settings, live.call.sid))[-1].seq

        async def replies_after() -> list[int]:
            return [e.seq for e in await call_events(settings, live.call.sid) if e.type == "ai.response"]

        await eventually(replies_after, lambda seqs: any(s > last for s in seqs), within=60)

        # New calls after the restart, until every partition has one that hears and is heard.
        calls = [live]
        working: set[int] = set()
        for _ in range(12):
            if working == set(range(PARTITIONS)):
                break
            new = await ring(tenant, twilio_sim, edge, "hold", settings, require_approval=False)
            calls.append(new)
            events = await wait_for_event(settings, new.call.sid, "speech.detected", within=60)
            assert [e for e in events if e.type == "ai.response"], "no greeting on a call after the restart"
            working.add(call_partition(new.call.sid, PARTITIONS))
        assert working == set(range(PARTITIONS))

        for call in calls:
            r = await tenant.client.post("/override/end", json={"callSid": call.call.sid})
            assert r.status_code == 200, r.text
        for call in calls:
            events = await wait_for_event(settings, call.call.sid, "call.ended", within=60)
            assert log_problems(events, tenant.id) == [], call.call.sid
