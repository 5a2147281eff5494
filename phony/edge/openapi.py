"""The errors every operation can answer, documented in ``/openapi.json`` in one place: what a route
declares (its 401/403/404/409/429/503) plus what the edge answers before any route runs.

- an operation with a body: 400 (not JSON), 413 (over the body limit), 422 (a field is invalid);
- every operation: 422 (a query parameter or path that is not UTF-8, or fails its schema), in the
  envelope rather than FastAPI's own ``HTTPValidationError``, which this API never sends.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from phony.edge.errors import CODES

ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
BODY_ERRORS = {
    400: "The body is not JSON",
    413: "The body is larger than the limit (details.limit, in bytes)",
    422: "A field or parameter is invalid: details name it and its value",
}
UNUSED_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _error(status: int, description: str) -> dict[str, Any]:
    return {
        "description": f"{CODES[status]}: {description}",
        "content": {"application/json": {"schema": ENVELOPE}},
    }


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the edge's own errors to every operation of ``schema`` (in place; returned)."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if "requestBody" in operation:
                for status, description in BODY_ERRORS.items():
                    responses.setdefault(str(status), _error(status, description))
            validation = responses.get("422", {}).get("content", {}).get("application/json", {})
            if "422" not in responses or validation.get("schema") != ENVELOPE:
                responses["422"] = _error(422, BODY_ERRORS[422])
    components = schema.get("components", {}).get("schemas", {})
    for name in UNUSED_SCHEMAS:
        components.pop(name, None)
    return schema


def install_error_docs(app: FastAPI) -> None:
    """Make ``app.openapi()`` document the edge's errors (FastAPI caches the result)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
