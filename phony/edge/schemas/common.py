"""Field types shared by request models, with the error messages the API documents."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainValidator,
    Strict,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from phony.edge.errors import BSON_INT_MAX

# ASCII digits only (``\d`` also takes other scripts' digits), and nothing after the last one.
E164 = r"^\+[1-9][0-9]{1,14}$"
E164_PREFIX = r"^\+[1-9][0-9]{0,14}$"
_E164 = re.compile(E164)
_E164_PREFIX = re.compile(E164_PREFIX)


def _e164(value: str) -> str:
    if not _E164.fullmatch(value):
        raise PydanticCustomError("phone_number", "Invalid phone number format")
    return value


def _e164_prefix(value: str) -> str:
    if not _E164_PREFIX.fullmatch(value):
        raise PydanticCustomError("phone_prefix", "Invalid phone number or prefix (E.164, e.g. +1555)")
    return value


def _distinct(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise PydanticCustomError("duplicate", "Duplicate value {value}", {"value": v})
        seen.add(v)
    return values


# The validator keeps the seed's message ("Invalid phone number format"); the schema states the
# pattern, so clients and generated tests know the format before they are refused.
PhoneNumber = Annotated[
    str,
    AfterValidator(_e164),
    WithJsonSchema({"type": "string", "pattern": E164, "examples": ["+15551234567"]}),
]
PhonePrefix = Annotated[
    str,
    AfterValidator(_e164_prefix),
    WithJsonSchema({"type": "string", "pattern": E164_PREFIX, "examples": ["+1555"]}),
]
_DISTINCT = Field(json_schema_extra={"uniqueItems": True})
PhoneNumbers = Annotated[list[PhoneNumber], AfterValidator(_distinct), _DISTINCT]
PhonePrefixes = Annotated[list[PhonePrefix], AfterValidator(_distinct), _DISTINCT]

# JSON's true and false only: 0, 1 and "yes" are refused, not taken for booleans.
Flag = Annotated[bool, Strict()]


def _ranges(codes: list[int]) -> str:
    spans: list[list[int]] = []
    for c in codes:
        if spans and spans[-1][1] == c - 1:
            spans[-1][1] = c
        else:
            spans.append([c, c])
    return "".join(f"\\u{a:04x}" + (f"-\\u{b:04x}" if b > a else "") for a, b in spans)


# What str.strip() takes away, spelled out: JSON Schema's \s, Rust's and Python's differ.
_WHITESPACE = _ranges([c for c in range(0x10000) if chr(c).isspace()])
NOT_BLANK = f"[^{_WHITESPACE}]"


def _trimmed(value: str) -> str:
    trimmed = value.strip()
    if not trimmed:
        raise PydanticCustomError("blank", "Text must not be blank")
    return trimmed


# Trimmed after the length is checked on the text as sent, so the schema's limits are exactly what
# is refused; the pattern tells the schema that whitespace alone is refused too.
_NOT_BLANK = [AfterValidator(_trimmed), Field(json_schema_extra={"pattern": NOT_BLANK})]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), *_NOT_BLANK]
SpokenText = Annotated[str, StringConstraints(min_length=1, max_length=4000), *_NOT_BLANK]


def _json_number(value: object) -> object:
    if isinstance(value, bool | str):
        raise PydanticCustomError("number_type", "Input should be a JSON number")
    return value


# JSON numbers only: true, false and "1" are refused, not taken for numbers. As in JSON Schema, an
# integer may be written 150.0 (not 1.5), and a number field takes integers. Bounds go before it in
# an Annotated (``Annotated[int, Field(ge=1), JsonNumber]``), or the schema loses them.
JsonNumber = BeforeValidator(_json_number)


def _text(value: object) -> object:
    if isinstance(value, bool | int | float):
        raise PydanticCustomError("datetime_type", "Input should be an ISO 8601 date-time string")
    return value


# An ISO 8601 string, as the schema says; a bare number is not taken for seconds since 1970.
Timestamp = Annotated[datetime, BeforeValidator(_text)]


_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _instant(value: object) -> datetime:
    text = value.upper() if isinstance(value, str) else ""
    if not (_RFC3339.fullmatch(text) or _DATE.fullmatch(text)):
        raise PydanticCustomError(
            "datetime_format", "Input should be an RFC 3339 date-time with an offset, or a date"
        )
    try:
        at = datetime.fromisoformat(text)
        return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    except ValueError:  # 2031-13-01
        raise PydanticCustomError("datetime_range", "Input is not a date that exists") from None
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first instant a datetime holds
        raise PydanticCustomError("datetime_range", "Date-time out of range") from None


# A point in time for a filter: an RFC 3339 date-time (with its offset), or a date alone (its
# midnight, UTC), as the schema says; a number is not taken for seconds since 1970.
Instant = Annotated[
    datetime,
    PlainValidator(_instant),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}
    ),
]

# Paging: an offset MongoDB can skip (it refuses integers past 8 bytes).
Offset = Annotated[int, Query(ge=0, le=BSON_INT_MAX, description="How many to skip")]
