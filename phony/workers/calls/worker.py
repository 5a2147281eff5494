"""The calls of this worker's partitions: one actor per live call, handed its commands and audio;
taking partitions over (restoring their live calls) and giving them up (fencing what was ours).

Ownership of partition *p*: the Kafka consumer group assigns it; the worker then claims *p*'s
playback (a Redis token checked on every message to a caller) and *p*'s event writer (a
transactional id, which fences the previous owner's), and only then reads *p*'s events and goes on
with its live calls. A worker that learns it lost *p* (a rebalance, a refused playback message, a
fenced write) stops *p*'s calls at once: closes their model sessions, sends nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from dataclasses import dataclass

from faststream.kafka import KafkaBroker
from redis.asyncio import Redis
from redis.exceptions import RedisError

from phony.commands.audio import AudioFrame, call_partition
from phony.commands.calls import PlaceCall
from phony.config import Settings
from phony.workers.calls.actor import ActorDeps, CallActor
from phony.workers.calls.inputs import CallCommandInput, Restore
from phony.workers.calls.placing import place_call
from phony.workers.calls.state import CallState
from phony.workers.calls.telephony import Telephony
from phony.workers.partition_writer import OwnershipLost
from phony.workers.playback import claim, owner_key, release

log = logging.getLogger(__name__)

CLAIM_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class PlaceDeps:
    """What placing an outbound call needs."""

    settings: Settings
    redis: Redis
    broker: KafkaBroker
    telephony: Telephony


def ended_summary(state: CallState) -> CallState:
    """What an ended call keeps in memory: enough to answer late commands (and to fold nothing twice)."""
    return CallState(
        seq=state.seq,
        tenant_id=state.tenant_id,
        commands=set(),
        updated_at=state.updated_at,
        ended=True,
        end_reason=state.end_reason,
        status=state.status,
        stream_sid=state.stream_sid,
    )


class CallWorker:
    """Routes call inputs to their actors and keeps this worker's partitions."""

    def __init__(self, deps: ActorDeps, place: PlaceDeps) -> None:
        self.deps = deps
        self._place = place
        self.actors: dict[str, CallActor] = {}
        self.tokens: dict[int, str] = {}  # partitions owned -> our playback token
        self._lost: set[int] = set()  # learnt lost, not yet reassigned: their inputs are dropped
        self._retiring: set[asyncio.Task[None]] = set()
        self._taking: dict[int, asyncio.Event] = {}  # partitions being taken over, set once taken

    # ------------------------------------------------------------------ inputs
    async def handle(self, command: CallCommandInput | PlaceCall) -> None:
        """A call command, in log order for its call; returns once it is decided and written."""
        if isinstance(command, PlaceCall):
            p = self._place
            await place_call(p.settings, p.redis, p.broker, p.telephony, command)
            return
        actor = self._actor(command.aggregate_id)
        if actor is None:
            raise OwnershipLost(call_partition(command.aggregate_id, self.deps.settings.partitions))
        await actor.submit(command)

    async def audio(self, frames: list[AudioFrame]) -> None:
        """Caller frames and mark echoes, in log order; a call with no actor here (not started, ended,
        not ours) has nobody to hear them."""
        by_call: dict[str, list[AudioFrame]] = {}
        for frame in frames:
            by_call.setdefault(frame.call_sid, []).append(frame)
        for sid, own in by_call.items():
            actor = self.actors.get(sid)
            if actor is not None and not actor.stopped:
                await actor.caller_audio(own)

    def _actor(self, call_sid: str) -> CallActor | None:
        actor = self.actors.get(call_sid)
        if actor is not None and not actor.stopped:
            return actor
        partition = call_partition(call_sid, self.deps.settings.partitions)
        token = self.tokens.get(partition)
        if token is None or partition in self._lost:
            return None
        actor = CallActor(self.deps, call_sid, partition, token, self._retire)
        self.actors[call_sid] = actor
        return actor

    def _retire(self, actor: CallActor) -> None:
        """An ended call leaves memory once its inbox is empty (a late command makes a new actor)."""
        if self.actors.get(actor.sid) is actor:
            del self.actors[actor.sid]
        state = actor.state
        if state.ended:
            self.deps.store.replace(actor.sid, ended_summary(state))
        elif not state.exists:
            self.deps.store.discard(actor.sid)
        task = asyncio.create_task(actor.stop(drain=True), name=f"retire-{actor.sid}")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    # ------------------------------------------------------------------ ownership
    async def ready(self, partitions: set[int]) -> None:
        """Wait until ``partitions`` are taken over, if they are being (the consumer may hand over a
        batch of a partition whose takeover has not finished)."""
        for partition in partitions:
            taking = self._taking.get(partition)
            if taking is not None:
                await taking.wait()

    async def assigned(self, partitions: set[int]) -> None:
        """The group's new assignment: give up what is no longer ours, take over what is new (and
        what we held but someone else claimed meanwhile: we were paused, our state is stale)."""
        for partition in partitions:
            self._taking.setdefault(partition, asyncio.Event())
        try:
            for partition in sorted(set(self.tokens) - partitions):
                await self.give_up(partition)
            for partition in sorted(partitions):
                if partition in self.tokens and await self._still_ours(partition):
                    continue
                await self.give_up(partition)
                await self.take(partition)
        finally:
            for partition in partitions:
                self._taking.pop(partition, asyncio.Event()).set()

    async def _owner(self, partition: int) -> str | None:
        """The playback token ``partition`` holds in Redis (``None``: none); Redis errors raise."""
        async with asyncio.timeout(CLAIM_TIMEOUT_S):
            owner = await self.deps.redis.get(owner_key(self.deps.settings, partition))
        return owner.decode() if isinstance(owner, bytes) else owner

    async def _still_ours(self, partition: int) -> bool:
        if partition in self._lost or not self.deps.writer.owns(partition):
            return False
        try:
            return await self._owner(partition) == self.tokens[partition]
        except (RedisError, OSError, TimeoutError):
            return False  # cannot tell: restore afresh, which is always safe

    async def _token_is(self, partition: int, token: str) -> bool:
        """Whether ``partition``'s playback token is still ``token`` (asked until Redis answers: the
        token is what tells a worker that was paused from the one that took over meanwhile)."""
        while True:
            try:
                return await self._owner(partition) in (token, None)
            except (RedisError, OSError, TimeoutError) as exc:
                log.info("partition %d: cannot ask Redis who owns it yet (%r)", partition, exc)
                await asyncio.sleep(0.5)

    async def take(self, partition: int) -> None:
        """Own ``partition``: claim its playback and its writer, restore its live calls."""
        token = f"{uuid.uuid4().hex}"
        try:
            async with asyncio.timeout(CLAIM_TIMEOUT_S):
                await claim(self.deps.redis, self.deps.settings, partition, token)
        except (RedisError, OSError, TimeoutError) as exc:
            # Redis is away: the playback script claims the partition for us when it is back.
            log.warning("partition %d: playback not claimed (%r)", partition, exc)
        await self.deps.writer.own(partition, functools.partial(self._token_is, partition, token))
        self.tokens[partition] = token
        self._lost.discard(partition)
        ids = await self.deps.store.restore(partition)
        self.deps.writer.restored_to(partition, self.deps.store.next_offset(partition))
        live = 0
        for sid, state in self.deps.store.states(partition).items():
            if not isinstance(state, CallState):
                continue
            if state.ended:
                self.deps.store.replace(sid, ended_summary(state))
            elif state.exists:
                actor = self._actor(sid)
                if actor is not None:
                    actor.post(Restore())
                    live += 1
        self.deps.writer.snapshot_if_due(partition)  # after a long tail (or the whole log): save it
        # Per partition: said at INFO only when calls move (a failover), else it is start-up chatter.
        log.log(
            logging.INFO if live else logging.DEBUG,
            "partition %d taken over: %d aggregates, %d live calls",
            partition,
            len(ids),
            live,
        )

    async def give_up(self, partition: int) -> None:
        """Stop ``partition``'s calls here at once (another worker owns them, or will)."""
        actors = [a for a in self.actors.values() if a.partition == partition]
        for actor in actors:
            del self.actors[actor.sid]
        await asyncio.gather(*(a.stop(drain=False) for a in actors), return_exceptions=True)
        if partition in self.tokens and partition not in self._lost:
            await self.deps.writer.snapshot(partition)  # its next owner then reads a short tail
        await self.deps.writer.disown(partition)
        token = self.tokens.pop(partition, None)
        if token is not None and partition not in self._lost:
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(CLAIM_TIMEOUT_S):
                    await release(self.deps.redis, self.deps.settings, partition, token)
        self.deps.store.forget({partition})
        if actors:
            log.info("partition %d given up: %d live calls stopped here", partition, len(actors))

    def fenced(self, partition: int) -> None:
        """Another worker owns ``partition`` (a playback message or a write was refused): stop its
        calls now, and take nothing more of it until the group assigns it to us again."""
        if partition in self._lost or partition not in self.tokens:
            return
        self._lost.add(partition)
        log.warning("partition %d is another worker's: stopping its calls here", partition)
        task = asyncio.create_task(self._stop_lost(partition), name=f"fenced-{partition}")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _stop_lost(self, partition: int) -> None:
        actors = [a for a in self.actors.values() if a.partition == partition]
        for actor in actors:
            self.actors.pop(actor.sid, None)
        await asyncio.gather(*(a.stop(drain=False) for a in actors), return_exceptions=True)
        token = self.tokens.get(partition)
        if token is not None and await self._token_is(partition, token) and partition in self.tokens:
            # Fenced, yet still the partition's owner (a worker that was paused took the transactional
            # id back): take it over again, which fences that one, rather than refuse its calls.
            log.warning("partition %d: still ours; taking it over again", partition)
            await self.give_up(partition)
            await self.take(partition)

    async def close(self) -> None:
        for partition in sorted(self.tokens):
            await self.give_up(partition)
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
