"""Talking to Phony through the Python SDK: the keys, the client, and every error as one line.

``phony_client`` is imported here, when an operator command runs, and nowhere at import time: the
server's own commands (``phony serve``) work without the SDK installed.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from phony_client import NotGiven, PhonyClient, PhonyError

T = TypeVar("T")
ADMIN_KEY_FILE = Path(".services") / "admin-key"
CHECKOUT = Path(__file__).resolve().parents[2]  # where `make up` writes .services/admin-key


def fail(message: str) -> NoReturn:
    """Print ``message`` as one line on stderr and exit with status 1."""
    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(1)


def operator_key(given: str | None) -> str:
    """``--api-key`` / ``PHONY_ADMIN_KEY``, else the key ``make up`` wrote (here or in the checkout)."""
    if given:
        return given
    for folder in (Path.cwd(), CHECKOUT):
        written = folder / ADMIN_KEY_FILE
        if written.is_file() and (key := written.read_text().strip()):
            return key
    where = "pass --api-key, set PHONY_ADMIN_KEY, or run `make up` (it writes .services/admin-key)"
    fail(f"no operator key: {where}")


def tenant_key(given: str | None) -> str:
    if not given:
        fail("no API key: pass --api-key or set PHONY_API_KEY")
    return given


@contextlib.contextmanager
def connected(base_url: str, api_key: str) -> Iterator[PhonyClient]:
    """A client of the Phony at ``base_url``; an error of the SDK inside ends the command with one
    line (:func:`describe`) and exit status 1, never a traceback."""
    try:
        from phony_client import PhonyClient, PhonyError
    except ImportError:
        fail("the operator commands need the Python SDK: pip install -e clients/python")
    try:
        with PhonyClient(base_url=base_url, api_key=api_key) as client:
            yield client
    except PhonyError as exc:
        fail(describe(exc, base_url))


def describe(exc: PhonyError, base_url: str) -> str:
    """One line for an SDK error: the server's message (a bad key, an unknown id), the field and
    message of a validation error, or where the server could not be reached."""
    from phony_client import APIConnectionError, APIStatusError, ValidationError

    if isinstance(exc, APIConnectionError):
        reason = re.sub(r"^\[Errno \d+\] ", "", str(exc.__cause__ or "")) or exc.message
        return f"cannot reach Phony at {base_url}: {reason}"
    if isinstance(exc, ValidationError) and (field := exc.details.get("field")):
        return f"invalid {field}: {exc.message} ({exc.status})"
    if isinstance(exc, APIStatusError):
        ids = [str(v) for k, v in exc.details.items() if k in ("id", "call_sid", "callSid")]
        subject = f": {ids[0]}" if ids else ""
        return f"{exc.message}{subject} ({exc.status} {exc.code or 'ERROR'})"
    return exc.message


def given(value: T | None) -> T | NotGiven:
    """An option left out (None) as the SDK's ``NOT_GIVEN``: the server's default applies."""
    from phony_client import NOT_GIVEN

    return NOT_GIVEN if value is None else value
