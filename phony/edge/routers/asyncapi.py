"""``GET /asyncapi.json`` and ``GET /asyncapi``: the AsyncAPI 3 document of the Kafka topics and the
events WebSocket, and a readable page of it; unauthenticated, like ``/openapi.json`` and ``/docs``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from phony.edge.asyncapi import asyncapi_document, render_page
from phony.edge.deps import Ctx

router = APIRouter(tags=["docs"], include_in_schema=False)


def _document(request: Request, ctx: Ctx) -> dict[str, Any]:
    # Built once per app, on first use (as FastAPI builds /openapi.json): it depends only on settings.
    doc: dict[str, Any] | None = getattr(request.app.state, "asyncapi", None)
    if doc is None:
        doc = asyncapi_document(ctx.settings, version=request.app.version)
        request.app.state.asyncapi = doc
    return doc


@router.get("/asyncapi.json")
async def asyncapi_json(request: Request, ctx: Ctx) -> JSONResponse:
    """The AsyncAPI 3.0.0 document."""
    return JSONResponse(_document(request, ctx))


@router.get("/asyncapi", response_class=HTMLResponse)
async def asyncapi_page(request: Request, ctx: Ctx) -> HTMLResponse:
    """The document as a self-contained HTML page."""
    return HTMLResponse(render_page(_document(request, ctx)))
