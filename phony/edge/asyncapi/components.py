"""``components.schemas`` of the AsyncAPI document, filled from pydantic's own JSON schemas.

Pydantic puts the models a schema refers to under its ``$defs``; here they become components (one
namespace for the whole document), and a name given twice must mean the same schema.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

Schema = dict[str, Any]
REF_TEMPLATE = "#/components/schemas/{model}"


def ref(name: str) -> Schema:
    """A reference to the component schema ``name``."""
    return {"$ref": REF_TEMPLATE.format(model=name)}


class Components:
    """The schemas the document's messages refer to."""

    def __init__(self) -> None:
        self.schemas: dict[str, Schema] = {}

    def add(self, name: str, schema: Schema) -> Schema:
        """Keep ``schema`` as ``name`` (again is fine, if it is the same) and return a reference to it."""
        kept = self.schemas.setdefault(name, schema)
        if kept != schema:
            raise ValueError(f"two different schemas are named {name!r}")
        return ref(name)

    def add_models(
        self, models: Sequence[type[BaseModel]], *, by_alias: bool
    ) -> dict[type[BaseModel], Schema]:
        """Each model's schema as it is serialised (with the field names ``by_alias`` gives), and every
        model it refers to; returns a reference to each model's schema."""
        refs, definitions = models_json_schema(
            [(model, "serialization") for model in models], by_alias=by_alias, ref_template=REF_TEMPLATE
        )
        for name, schema in definitions.get("$defs", {}).items():
            self.add(name, schema)
        return {model: refs[(model, "serialization")] for model in models}


def array_form(cls: type[Any], fixed: dict[str, Any]) -> Schema:
    """The schema of a dataclass written as a JSON array of its fields in declaration order (the audio
    topic's compact form), with the ``fixed`` fields held to one value."""
    hints = typing.get_type_hints(cls)
    items: list[Schema] = []
    for field in dataclasses.fields(cls):
        schema = (
            {"const": fixed[field.name]}
            if field.name in fixed
            else TypeAdapter(hints[field.name]).json_schema()
        )
        schema.pop("title", None)
        items.append({"title": field.name, **schema})
    # Draft 7's tuple form (the AsyncAPI schema object's dialect): ``items`` as a list.
    return {"type": "array", "items": items, "minItems": len(items), "additionalItems": False}
