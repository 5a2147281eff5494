"""What a call decides on: its commands (from Kafka, in partition order), the model's server events
(observations, parsed once by the session reader), and what came back from its effects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from phony.commands.calls import LiveCallCommand
from phony.workers.calls.model_events import ModelEvent

CallCommandInput = LiveCallCommand


@dataclass(frozen=True, slots=True)
class Restore:
    """This worker has just taken the call over (its state is folded from the log): go on with it."""


@dataclass(frozen=True, slots=True)
class SessionOpened:
    """The model session is connected and set up."""


@dataclass(frozen=True, slots=True)
class SessionLost:
    """The model session could not be opened, or dropped."""

    message: str


@dataclass(frozen=True, slots=True)
class MarkPlayed:
    """Twilio echoed a mark: the caller has heard the audio sent before it."""

    name: str


@dataclass(frozen=True, slots=True)
class HeardDeadline:
    """The bound on waiting for the caller to hear a reply has passed."""

    response_id: str


@dataclass(frozen=True, slots=True)
class TelephonyDone:
    """Twilio took a transfer or digits."""

    action: Literal["transfer", "digits"]
    argument: str
    by: str
    command_id: str | None = None


@dataclass(frozen=True, slots=True)
class TelephonyFailed:
    """Twilio refused a transfer or digits (or could not be reached)."""

    action: Literal["transfer", "digits"]
    argument: str
    message: str
    command_id: str | None = None


Feedback = (
    Restore | SessionOpened | SessionLost | MarkPlayed | HeardDeadline | TelephonyDone | TelephonyFailed
)
CallInput = CallCommandInput | ModelEvent | Feedback
