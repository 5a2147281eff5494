"""``/healthz``: liveness plus the state of Kafka, MongoDB and Redis (503 ``degraded`` if one is down)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from phony.edge.deps import Ctx
from phony.projections import queries

router = APIRouter(tags=["health"])

DependencyState = Literal["ok", "down"]
CHECK_TIMEOUT_S = 2.0


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    uptime: int
    activeCalls: int | None
    dependencies: dict[str, DependencyState]


async def _check(probe: Awaitable[Any]) -> DependencyState:
    try:
        result = await asyncio.wait_for(probe, CHECK_TIMEOUT_S)
    except Exception:
        return "down"
    return "down" if result is False else "ok"


async def _active_calls() -> int | None:
    try:
        return await asyncio.wait_for(queries.live_calls().count(), CHECK_TIMEOUT_S)
    except Exception:
        return None


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "A dependency is down"}},
)
async def healthz(ctx: Ctx) -> JSONResponse:
    """Uptime, live calls, and each dependency's state."""
    kafka, mongodb, redis, active = await asyncio.gather(
        _check(ctx.broker.ping(timeout=CHECK_TIMEOUT_S)),
        _check(ctx.mongo.admin.command("ping")),
        _check(ctx.redis.ping()),
        _active_calls(),
    )
    deps: dict[str, DependencyState] = {"kafka": kafka, "mongodb": mongodb, "redis": redis}
    ok = all(v == "ok" for v in deps.values())
    body = Health(
        status="ok" if ok else "degraded",
        uptime=int(time.monotonic() - ctx.started),
        activeCalls=active,
        dependencies=deps,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
