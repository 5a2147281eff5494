"""Commands on the call aggregate (filled in with the call flow)."""

from __future__ import annotations

from typing import Literal

from phony.commands.base import Command


class EndCall(Command):
    type: Literal["call.end"] = "call.end"


CALL_COMMANDS_UNION = EndCall
