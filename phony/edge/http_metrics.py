"""HTTP request duration by method, route template and status, as ASGI middleware.

The route is the matched route's path template (``/agents/{agent_id}``), never the raw path: one
series per route, whatever ids clients send. A path no route takes counts as ``unmatched``.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.routing import Match
from starlette.types import Message, Receive, Scope, Send

from phony.edge.asgi import HttpMiddleware

UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The path template of the route that took (or would take) ``scope``."""
    route: Any = scope.get("route")
    if route is not None and hasattr(route, "path"):
        return str(route.path)
    # Answered before routing (the input guard, the body limit, OPTIONS): find the route it names.
    return _matching(scope["app"].router.routes, scope) or UNMATCHED


def _matching(routes: list[Any], scope: Scope) -> str | None:
    """The path template of the first of ``routes`` that takes ``scope``, looking into included
    routers (FastAPI keeps those as entries of their own, with no path, around their routes)."""
    for candidate in routes:
        inner = getattr(candidate, "original_router", None)
        if inner is not None:
            found = _matching(inner.routes, scope)
            if found is not None:
                return found
            continue
        path = getattr(candidate, "path", None)
        if isinstance(path, str) and candidate.matches(scope)[0] == Match.FULL:
            return path
    return None


class HttpMetrics(HttpMiddleware):
    """Times every HTTP request into the app's ``phony_http_request_duration_seconds``."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = [500]  # what a request that raised past every handler becomes

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            ctx = getattr(scope["app"].state, "ctx", None)
            if ctx is not None:  # not before the lifespan has made the metrics
                ctx.metrics.http_request_duration.labels(
                    scope["method"], route_template(scope), str(status[0])
                ).observe(time.perf_counter() - started)
