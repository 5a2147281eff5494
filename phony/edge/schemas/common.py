"""Field types shared by request models, with the error messages the API documents."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_E164_PREFIX = re.compile(r"^\+[1-9]\d{0,14}$")


def _e164(value: str) -> str:
    if not _E164.match(value):
        raise PydanticCustomError("phone_number", "Invalid phone number format")
    return value


def _e164_prefix(value: str) -> str:
    if not _E164_PREFIX.match(value):
        raise PydanticCustomError("phone_prefix", "Invalid phone number or prefix (E.164, e.g. +1555)")
    return value


def _distinct(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise PydanticCustomError("duplicate", "Duplicate value {value}", {"value": v})
        seen.add(v)
    return values


PhoneNumber = Annotated[str, AfterValidator(_e164)]
PhonePrefix = Annotated[str, AfterValidator(_e164_prefix)]
PhoneNumbers = Annotated[list[PhoneNumber], AfterValidator(_distinct)]
PhonePrefixes = Annotated[list[PhonePrefix], AfterValidator(_distinct)]
