"""Operator logs: quiet by default, JSON lines with ``PHONY_LOG_FORMAT=json``, and the call and command
a line is about on every line.

The context (``call_sid``, ``tenant_id``, ``command_id``) lives in context variables: set where a call's
input is handled (the worker's call actor, the edge's media and override handlers) and where a command
is sent, handled or its events written or projected, so ``grep <command id>`` across the edge's, the
worker's and the projector's logs finds everything one request did. Stdlib logging only: a filter puts
the context on each record, a formatter writes it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from phony.config import Settings

__all__ = ["CONTEXT", "announce", "bind", "bound", "configure", "without_secrets"]

CONTEXT: dict[str, ContextVar[str | None]] = {
    name: ContextVar(name, default=None) for name in ("call_sid", "tenant_id", "command_id")
}
# Client libraries: at INFO they log every partition assignment, connection and subscriber start.
QUIET_LOGGERS = (
    "aiokafka",
    "faststream",
    "phony.kafka",
    "httpx",
    "httpcore",
    "pymongo",
    "openai",
    "websockets",
    "twilio",  # its HTTP client logs each request with its headers at INFO
)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"


def bind(**values: str | None) -> None:
    """Set context for the rest of the current task (a call actor's loop, a media socket)."""
    for name, value in values.items():
        CONTEXT[name].set(value or None)


@contextmanager
def bound(**values: str | None) -> Iterator[None]:
    """Set context for the ``with`` block only."""
    tokens = [(CONTEXT[name], CONTEXT[name].set(value or None)) for name, value in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class ContextFilter(logging.Filter):
    """Copies the context variables onto each record (a value passed in ``extra`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in CONTEXT.items():
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        record.context = "".join(
            f" {name}={getattr(record, name)}" for name in CONTEXT if getattr(record, name, None)
        )
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the context that is set, any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update({name: getattr(record, name) for name in CONTEXT if getattr(record, name, None)})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(level: str, fmt: Literal["text", "json"] = "text") -> None:
    """Set up the root logger once per process: one stderr handler in ``fmt``, Phony's loggers at
    ``level``, the client libraries at WARNING (a DEBUG Phony does not turn on their chatter)."""
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    wanted = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    root.setLevel(max(wanted, logging.INFO))
    logging.getLogger("phony").setLevel(wanted)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(wanted, logging.WARNING))


def without_secrets(url: str) -> str:
    """``url`` without its user and password (MongoDB and Redis URLs may carry them)."""
    parts = urlsplit(url)
    if not parts.password and not parts.username:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def announce(settings: Settings, role: str, runs: str) -> None:
    """The start-up lines: what runs where, and on which servers (no secrets)."""
    log = logging.getLogger("phony")
    log.info("phony %s: %s", role, runs)
    log.info(
        "kafka %s (topics %s.*, %d partitions), mongodb %s (database %s), redis %s",
        settings.kafka_bootstrap,
        settings.topic_prefix,
        settings.partitions,
        without_secrets(settings.mongodb_url),
        settings.mongodb_db,
        without_secrets(settings.redis_url),
    )
