"""When a command sent for a waiting caller stops counting: the rule the edge answers by and the
worker executes by, so the two agree on every command.

The edge answers a REST write or an override within ``PHONY_KAFKA_WRITE_TIMEOUT_S`` (the bound). It
stamps the command with ``append_by`` = the send's start + the cutoff (the bound less a grace for
the acknowledgement's way back) and answers success only when the acknowledgement came within the
bound *and* the broker's append time (the commands topic is ``LogAppendTime``) is not after
``append_by``. The worker drops a command whose record's timestamp is after its ``append_by``. Both
test the same timestamp with :func:`expired`, so an answered success is always carried out and an
answered failure never is, with one exception no rule can close: a record appended in time whose
acknowledgement is delayed by more than the grace (the broker dies between appending and answering)
was answered as failed but is carried out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from phony.commands.base import Command
from phony.config import Settings
from phony.events.envelope import utcnow

ACK_GRACE_S = 1.0  # what the acknowledgement may take after the append (at most half the bound)

C = TypeVar("C", bound=Command)


def cutoff_s(settings: Settings) -> float:
    """Seconds after a bounded send starts by which its record must be appended to count."""
    bound = settings.kafka_write_timeout_s
    return bound - min(ACK_GRACE_S, bound / 2)


def with_deadline(command: C, settings: Settings, now: datetime | None = None) -> C:
    """``command`` stamped with the ``append_by`` of a bounded send starting ``now``."""
    append_by = (now or utcnow()) + timedelta(seconds=cutoff_s(settings))
    return command.model_copy(update={"append_by": append_by})


def expired(command: Command, appended_at_ms: int) -> bool:
    """Whether ``command``'s record, appended at ``appended_at_ms`` (its Kafka timestamp, epoch ms),
    came after its ``append_by``: its sender answered failure, so it must not be carried out.
    Commands without ``append_by`` never expire."""
    if command.append_by is None:
        return False
    return appended_at_ms > int(command.append_by.timestamp() * 1000)
