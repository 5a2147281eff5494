"""Keeps API keys sent as ``?token=`` (the events WebSocket, for browsers) out of the server's logs:
uvicorn logs each WebSocket handshake with its query string."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

_TOKEN = re.compile(r"(?<=[?&]token=)[^&\s\"]+")
LOGGERS = ("uvicorn.error", "uvicorn.access")


class RedactTokens(logging.Filter):
    """Replaces the value of every ``token=`` query parameter in a record's message and arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _TOKEN.sub("***", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN.sub("***", a) if isinstance(a, str) else a for a in record.args)
        return True


@contextmanager
def redacted_server_logs() -> Iterator[None]:
    """Install the filter on uvicorn's loggers for the app's lifetime."""
    redact = RedactTokens()
    for name in LOGGERS:
        logging.getLogger(name).addFilter(redact)
    try:
        yield
    finally:
        for name in LOGGERS:
            logging.getLogger(name).removeFilter(redact)
