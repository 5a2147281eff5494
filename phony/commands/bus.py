"""The command bus: publish a command durably on Kafka and, for REST writes, wait until its result
is projected (read-your-writes) or refused.

Commands go out on the bus's own :class:`~phony.events.producer.HealingProducer`, so a write waits
for Kafka no longer than ``PHONY_KAFKA_WRITE_TIMEOUT_S`` and a producer a broker restart left unusable
is replaced. Outcomes come back on one Redis channel per deployment; each edge process listens once and
hands each outcome to the request waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka.errors import KafkaError
from redis.asyncio import Redis

from phony import logs
from phony.commands.base import Command, CommandOutcome
from phony.commands.calls import call_sid_of
from phony.commands.expiry import expired, with_deadline
from phony.config import Settings
from phony.events.log import Topics
from phony.events.producer import HealingProducer

log = logging.getLogger(__name__)


class CommandTimeout(Exception):
    """The command is on the log but its result was not projected in time."""


class CommandNotWritten(KafkaError):  # type: ignore[misc]  # aiokafka is untyped
    """Kafka did not take the command within the bound: it is not carried out (it is not on the log,
    or it reached the log after its ``append_by`` and the worker drops it), so retrying is safe."""

    def __init__(self, command_id: str, reason: str) -> None:
        super().__init__(f"command {command_id} not written: {reason}")
        self.command_id = command_id


class CommandParked(Exception):
    """The command is on the log and its events happened, but the read-model store refused one of
    them: it is parked (``phony parked``), so reading the result back may not show it."""

    def __init__(self, outcome: CommandOutcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


class CommandRejected(Exception):
    """The worker refused the command; ``outcome`` carries the error for the caller."""

    def __init__(self, outcome: CommandOutcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


def outcome_channel(settings: Settings) -> str:
    """The Redis channel command outcomes are published on."""
    return settings.channel("outcomes")


class CommandBus:
    """Sends commands; ``execute`` also waits for their outcome."""

    def __init__(self, settings: Settings, redis: Redis) -> None:
        self._settings = settings
        self._producer = HealingProducer(settings, "edge-commands")
        self._redis = redis
        self._topics = Topics.of(settings)
        self._waiting: dict[str, asyncio.Future[CommandOutcome]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    @property
    def producer(self) -> HealingProducer:
        """The producer commands go out on (its error counts and replacements)."""
        return self._producer

    async def start(self) -> None:
        """Start the producer (raises ``KafkaError`` when Kafka is unreachable) and subscribe to
        outcomes (before any command is sent, so none is missed)."""
        await self._producer.start()
        self._listener = asyncio.create_task(self._listen(), name="command-outcomes")
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout=5)
        except TimeoutError:
            # Start anyway (health reports Redis down); writes answer 503 until Redis is back.
            log.warning("Redis unreachable at start-up; command outcomes will follow when it is back")

    async def stop(self) -> None:
        """Stop listening for outcomes; flush and close the producer."""
        if self._listener:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._producer.stop()

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(outcome_channel(self._settings))
                    self._subscribed.set()
                    async for message in pubsub.listen():
                        self._deliver(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: keep trying, waiters time out meanwhile.
                log.warning("outcome listener lost Redis; retrying", exc_info=True)
                await asyncio.sleep(0.5)

    def _deliver(self, data: bytes | str) -> None:
        outcome = CommandOutcome.model_validate_json(data)
        future = self._waiting.get(outcome.command_id)
        if future is not None and not future.done():
            future.set_result(outcome)

    async def send(self, command: Command, topic: str | None = None) -> None:
        """Publish ``command`` for a caller waiting on the answer: return once Kafka acknowledged it
        (acks=all) within ``PHONY_KAFKA_WRITE_TIMEOUT_S`` and appended it before its ``append_by``,
        else raise :class:`CommandNotWritten`, and then it is never carried out."""
        stamped = with_deadline(command, self._settings)
        try:
            metadata = await self._producer.send_and_wait(
                topic or self._topics.commands,
                stamped.model_dump_json().encode(),
                key=command.aggregate_id.encode(),
                timeout_s=self._settings.kafka_write_timeout_s,
            )
        except KafkaError as exc:
            raise CommandNotWritten(command.id, str(exc)) from exc
        if expired(stamped, metadata.timestamp):  # acknowledged, but the worker will drop it
            raise CommandNotWritten(command.id, "appended after its deadline")
        _sent(command)

    async def deliver(self, command: Command) -> None:
        """Publish a fact reported from outside (Twilio's call status, the media stream) that must be
        carried out however late it lands: no deadline, and wait for Kafka as long as it takes."""
        await self._producer.send_and_wait(
            self._topics.commands,
            command.model_dump_json().encode(),
            key=command.aggregate_id.encode(),
            timeout_s=None,
        )
        _sent(command)

    async def execute(self, command: Command) -> CommandOutcome:
        """Send ``command`` and wait until its result is projected; raise ``CommandNotWritten`` when
        Kafka did not take it in time, ``CommandRejected`` when the worker refused it,
        ``CommandTimeout`` when the wait for the projection exceeds its bound, ``CommandParked`` when the
        store refused to keep its result."""
        future: asyncio.Future[CommandOutcome] = asyncio.get_running_loop().create_future()
        self._waiting[command.id] = future
        try:
            await self.send(command)
            try:
                outcome = await asyncio.wait_for(future, self._settings.read_your_writes_timeout_s)
            except TimeoutError as exc:
                raise CommandTimeout(command.id) from exc
        finally:
            self._waiting.pop(command.id, None)
        if outcome.status == "rejected":
            raise CommandRejected(outcome)
        if outcome.status == "parked":
            raise CommandParked(outcome)
        return outcome


def _sent(command: Command) -> None:
    with logs.bound(command_id=command.id, tenant_id=command.tenant_id, call_sid=call_sid_of(command)):
        log.debug("%s %s sent for %s", type(command).__name__, command.id, command.aggregate_id)


async def publish_outcome(redis: Redis, settings: Settings, outcome: CommandOutcome) -> None:
    """Tell the edge processes a command's outcome (used by the worker and the projector)."""
    await redis.publish(outcome_channel(settings), outcome.model_dump_json())


async def tell_applied(redis: Redis, settings: Settings, command_id: str, aggregate_id: str) -> None:
    """Tell a waiting REST call its command is applied: by the projector once the command's last
    event is projected, by the worker when the command produced no event (a no-op or a redelivery)."""
    outcome = CommandOutcome(command_id=command_id, status="applied", aggregate_id=aggregate_id)
    await publish_outcome(redis, settings, outcome)


async def tell_parked(
    redis: Redis, settings: Settings, command_id: str, aggregate_id: str, reason: str
) -> None:
    """Tell a waiting REST call its command's event is on the log but the store refused to keep it."""
    outcome = CommandOutcome(
        command_id=command_id, status="parked", aggregate_id=aggregate_id, message=reason
    )
    await publish_outcome(redis, settings, outcome)
