"""``/metrics``: this process's figures in Prometheus' text format (``phony serve``: the edge's, its
worker's and its projector's). Unauthenticated, like any scrape target, and without tenant labels:
keep the port off the public internet or filter the path at the proxy."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from phony.edge.deps import Ctx
from phony.metrics import CONTENT_TYPE_LATEST

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def metrics(ctx: Ctx) -> Response:
    """Prometheus exposition of this process's registry."""
    return Response(ctx.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
