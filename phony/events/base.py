"""The base of every event payload: a frozen fact, named in the past tense, with a type and version."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from phony.events.envelope import AggregateType


class EventData(BaseModel):
    """Payload of one event type at its current version (older versions are upcast on read)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[AggregateType]
