"""Projects call events into ``calls`` (filled in with the call flow)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from phony.events import EventEnvelope

HANDLERS: Mapping[str, Callable[[EventEnvelope, Any], Awaitable[None]]] = {}
