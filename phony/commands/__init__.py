"""Commands (requests to change an aggregate) and the bus that carries them."""

from phony.commands.base import Command, CommandOutcome
from phony.commands.bus import (
    CommandBus,
    CommandNotWritten,
    CommandParked,
    CommandRejected,
    CommandTimeout,
    publish_outcome,
    tell_applied,
    tell_parked,
)
from phony.commands.codec import AnyCommand, decode_command
from phony.commands.expiry import expired

__all__ = [
    "AnyCommand",
    "Command",
    "CommandBus",
    "CommandNotWritten",
    "CommandOutcome",
    "CommandParked",
    "CommandRejected",
    "CommandTimeout",
    "decode_command",
    "expired",
    "publish_outcome",
    "tell_applied",
    "tell_parked",
]
