"""Twilio's REST shapes: SIDs, RFC 2822 dates, the Call resource JSON and the error envelope."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from phony.sim.twilio.records import SimCall

__all__ = [
    "API_VERSION",
    "ERROR_AUTHENTICATE",
    "ERROR_CALL_NOT_IN_PROGRESS",
    "ERROR_INVALID_NUMBER",
    "ERROR_MISSING_FROM",
    "ERROR_MISSING_TO",
    "ERROR_MISSING_URL",
    "ERROR_NOT_FOUND",
    "call_resource",
    "calls_page",
    "error_body",
    "format_number",
    "new_sid",
    "now_utc",
    "rfc2822",
]

API_VERSION = "2010-04-01"

ERROR_AUTHENTICATE = 20003
ERROR_NOT_FOUND = 20404
ERROR_INTERNAL = 20500
ERROR_MISSING_TO = 21201
ERROR_MISSING_URL = 21205
ERROR_MISSING_FROM = 21213
ERROR_INVALID_NUMBER = 21217
ERROR_CALL_NOT_IN_PROGRESS = 21220

_CALL_SUBRESOURCES = (
    ("feedback", "Feedback"),
    ("user_defined_messages", "UserDefinedMessages"),
    ("notifications", "Notifications"),
    ("recordings", "Recordings"),
    ("streams", "Streams"),
    ("payments", "Payments"),
    ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
    ("siprec", "Siprec"),
    ("events", "Events"),
    ("feedback_summaries", "FeedbackSummaries"),
    ("transcriptions", "Transcriptions"),
)


def new_sid(prefix: str) -> str:
    """A Twilio SID: two-letter type prefix and 32 lowercase hex digits (``CA…``, ``MZ…``)."""
    return prefix + uuid.uuid4().hex


def now_utc() -> datetime:
    """The current time, timezone-aware UTC (Twilio's API speaks only UTC)."""
    return datetime.now(UTC)


def rfc2822(moment: datetime | None) -> str | None:
    """``Tue, 31 Aug 2010 20:36:28 +0000``, as Twilio writes dates (whole seconds); None stays None."""
    if moment is None:
        return None
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def format_number(number: str) -> str:
    """Twilio's ``to_formatted``: ``(415) 555-1212`` for North American numbers, E.164 otherwise."""
    digits = number[2:] if number.startswith("+1") else ""
    if len(digits) == 10 and digits.isdigit():
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return number


def _call_uri(call: SimCall) -> str:
    return f"/{API_VERSION}/Accounts/{call.account_sid}/Calls/{call.sid}"


def call_resource(call: SimCall) -> dict[str, Any]:
    """The Call resource JSON exactly as Twilio returns it from create, fetch and update."""
    base = _call_uri(call)
    return {
        "date_updated": rfc2822(call.date_updated or call.date_created),
        "price_unit": "USD",
        "parent_call_sid": None,
        "caller_name": None,
        "duration": None if call.duration is None else str(call.duration),
        "from": call.from_,
        "to": call.to,
        "annotation": None,
        "answered_by": None,
        "sid": call.sid,
        "queue_time": "0",
        "price": None,
        "api_version": API_VERSION,
        "status": call.status,
        "direction": call.direction,
        "start_time": rfc2822(call.start_time),
        "date_created": rfc2822(call.date_created),
        "from_formatted": format_number(call.from_),
        "group_sid": None,
        "trunk_sid": None,
        "forwarded_from": None,
        "uri": base + ".json",
        "account_sid": call.account_sid,
        "end_time": rfc2822(call.end_time),
        "to_formatted": format_number(call.to),
        "phone_number_sid": None,
        "subresource_uris": {key: f"{base}/{name}.json" for key, name in _CALL_SUBRESOURCES},
    }


def calls_page(account_sid: str, calls: list[SimCall], page_size: int = 50) -> dict[str, Any]:
    """One page of the Calls list resource (newest first), as Twilio pages v2010 lists."""
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Calls.json?PageSize={page_size}&Page=0"
    ordered = sorted(calls, key=lambda c: c.date_created, reverse=True)[:page_size]
    return {
        "calls": [call_resource(c) for c in ordered],
        "end": max(len(ordered) - 1, 0),
        "first_page_uri": uri,
        "next_page_uri": None,
        "page": 0,
        "page_size": page_size,
        "previous_page_uri": None,
        "start": 0,
        "uri": uri,
    }


def error_body(code: int, message: str, status: int) -> dict[str, Any]:
    """Twilio's v2010 error envelope: ``{"code", "message", "more_info", "status"}``."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
