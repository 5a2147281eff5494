"""What the sync and async event streams share: the URL, the per-call cursor that drops duplicates
and finds gaps, how a close frame maps to an exception, and when to give up reconnecting."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlencode

from phony_client._options import ClientOptions
from phony_client.errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    PhonyError,
    RateLimitedError,
    ValidationError,
)
from phony_client.models.events import BaseEvent

POLICY_VIOLATION = 1008  # the server refused the stream: the reason says why; reconnecting cannot help
# A connection that lasted this long, or brought an event, was a success: the failure count restarts.
HEALTHY_AFTER_S = 10.0
DEFAULT_MAX_RECONNECTS = 5

Admission = Literal["next", "duplicate", "gap"]


def stream_url(options: ClientOptions, call_sid: str | None, since: int | None) -> str:
    params: dict[str, str] = {}
    if call_sid is not None:
        params["callSid"] = call_sid
        params["since"] = str(since or 0)
    query = urlencode(params)
    return f"{options.ws_base_url}/events/ws" + (f"?{query}" if query else "")


def ws_headers(options: ClientOptions) -> dict[str, str]:
    headers = options.headers()
    headers.pop("Accept", None)
    return headers


@dataclass
class Cursor:
    """The last seq seen of each call. One call's stream starts at ``since``; a tenant stream learns
    each call from its first event."""

    call_sid: str | None
    last: dict[str, int] = field(default_factory=dict)

    @classmethod
    def start(cls, call_sid: str | None, since: int | None) -> Cursor:
        cursor = cls(call_sid)
        if call_sid is not None:
            cursor.last[call_sid] = since or 0
        return cursor

    def since(self) -> int | None:
        return self.last.get(self.call_sid) if self.call_sid is not None else None

    def admit(self, event: BaseEvent) -> Admission:
        """``next`` (and remembered), ``duplicate`` (seq already seen: drop it) or ``gap`` (events are
        missing before it: fetch them first, then :meth:`take` each)."""
        sid = event.call_sid or event.aggregate_id
        last = self.last.get(sid)
        if last is None and self.call_sid is None:
            self.take(event)
            return "next"
        last = last or 0
        if event.seq <= last:
            return "duplicate"
        if event.seq > last + 1:
            return "gap"
        self.take(event)
        return "next"

    def take(self, event: BaseEvent) -> bool:
        """Remember ``event``; False if it was seen already."""
        sid = event.call_sid or event.aggregate_id
        if event.seq <= self.last.get(sid, 0):
            return False
        self.last[sid] = event.seq
        return True

    def ended(self, event: BaseEvent) -> bool:
        """Whether ``event`` ends this stream (``call.ended`` of its call). On a tenant stream an ended
        call is forgotten, so the cursor does not grow with every call ever seen."""
        if event.type != "call.ended":
            return False
        sid = event.call_sid or event.aggregate_id
        if self.call_sid is None:
            self.last.pop(sid, None)
            return False
        return sid == self.call_sid


def refusal(code: int, reason: str) -> APIStatusError:
    """The error for a stream the server refused with close ``code`` 1008 and ``reason``."""
    details = {"close_code": code, "reason": reason}
    lowered = reason.lower()
    if "not found" in lowered:
        return NotFoundError(reason, status=404, code="NOT_FOUND", details=details)
    if "suspended" in lowered:
        return PermissionDeniedError(reason, status=403, code="FORBIDDEN", details=details)
    if "too many" in lowered:
        return RateLimitedError(reason, status=429, code="RATE_LIMITED", details=details)
    if "key" in lowered:
        return AuthenticationError(reason, status=401, code="UNAUTHORIZED", details=details)
    return ValidationError(reason, status=400, code="BAD_REQUEST", details=details)


@dataclass
class Reconnects:
    """Counts failed (re)connections in a row: the first connection may fail ``first`` times (the
    client's ``max_retries``: a server that is down is reported quickly), a stream that was up
    ``later`` times (a restarting server has time to come back)."""

    first: int
    later: int
    connected_once: bool = False
    failures: int = 0
    since_s: float = 0.0
    total: int = 0

    def connected(self) -> None:
        if self.connected_once:
            self.total += 1
        self.connected_once = True
        self.since_s = time.monotonic()

    def progressed(self) -> None:
        self.failures = 0

    def lost(self, error: PhonyError) -> int:
        """An open stream dropped: a failure, unless it had been up a while (see :meth:`failed`)."""
        if time.monotonic() - self.since_s >= HEALTHY_AFTER_S:
            self.failures = 0
        return self.failed(error)

    def failed(self, error: PhonyError) -> int:
        """Count a failure; the attempt number to wait for, or raise when there are no more."""
        self.failures += 1
        allowed = self.later if self.connected_once else self.first
        if self.failures > allowed:
            if isinstance(error, APIConnectionError) or not isinstance(error, APIStatusError):
                raise APIConnectionError(
                    f"event stream: gave up after {self.failures} failed connection attempt(s): {error}"
                ) from error
            raise error
        return self.failures


def dropped(code: int | None, reason: str | None) -> APIConnectionError:
    return APIConnectionError(f"event stream dropped (close code {code}: {reason or 'no reason'})")
