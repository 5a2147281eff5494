"""Commands (requests to change an aggregate) and the bus that carries them."""

from phony.commands.base import Command, CommandOutcome
from phony.commands.bus import CommandBus, CommandRejected, CommandTimeout, publish_outcome, tell_applied
from phony.commands.codec import AnyCommand, decode_command

__all__ = [
    "AnyCommand",
    "Command",
    "CommandBus",
    "CommandOutcome",
    "CommandRejected",
    "CommandTimeout",
    "decode_command",
    "publish_outcome",
    "tell_applied",
]
