"""What every command that runs Phony's own code shares: the event loop and the settings.

Imported lazily (uvloop, the settings): the operator commands, which need neither, start faster.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from phony.config import Settings

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop (what uvicorn would pick itself; here the loop is ours)."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def settings(port: int | None = None, log_level: str | None = None) -> Settings:
    """The settings from the environment, with logging set up (``log_level`` overrides theirs)."""
    from phony.config import Settings

    found = Settings()
    if port is not None:
        found = found.model_copy(update={"port": port})
    from phony.events.kafka_logs import quiet_kafka_client_logs
    from phony.logs import configure

    configure(log_level or found.log_level, found.log_format)

    quiet_kafka_client_logs()  # a broker outage would log thousands of lines a second
    return found
