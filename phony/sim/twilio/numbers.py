"""Magic phone numbers: dialling them gives a call outcome other than "the party answers".

Real Twilio has magic numbers only for test credentials (which never place calls); these are the
sim's own, in the same reserved ``+1500555xxxx`` range so they can never ring a real phone.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "BUSY_NUMBER",
    "FAILED_NUMBER",
    "INVALID_NUMBER",
    "NO_ANSWER_NUMBER",
    "CallOutcome",
    "outcome_for",
]

# The callee's line is busy: callbacks initiated → completed with CallStatus=busy.
BUSY_NUMBER = "+15005550486"
# Nobody picks up: initiated → ringing → (after the ring timeout) completed with CallStatus=no-answer.
NO_ANSWER_NUMBER = "+15005550487"
# The carrier cannot connect the call: initiated → completed with CallStatus=failed.
FAILED_NUMBER = "+15005550488"
# Twilio's own test-credentials number for "not a valid phone number": REST create answers 400, 21217.
INVALID_NUMBER = "+15005550001"

CallOutcome = Literal["answer", "busy", "no-answer", "failed"]


def outcome_for(number: str) -> CallOutcome:
    """What happens when ``number`` is called: every other number answers."""
    if number == BUSY_NUMBER:
        return "busy"
    if number == NO_ANSWER_NUMBER:
        return "no-answer"
    if number == FAILED_NUMBER:
        return "failed"
    return "answer"
