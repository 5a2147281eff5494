"""Base classes of the wire models: what the client sends, and what it reads back."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """A request body. Unknown fields are refused here (a typo fails before it is sent); values are
    checked by the server, whose 422 names the field (``ValidationError``), so the rules live in one
    place."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body: the fields that were set, under their wire names."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


class ResponseModel(BaseModel):
    """A response body. Fields a newer server adds are kept (``model_extra``), never an error."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
