"""Which methods a path serves: the complete ``Allow`` header of a 405, and ``OPTIONS`` answered for
every route.

FastAPI keeps one route per method, so its own 405 names only the route it tried (``/agents/`` said
``Allow: POST`` though it serves GET too). The routes are asked instead, the way the router asks
them: which of them would take this path with each method.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(scope: Scope) -> list[str]:
    """The methods the app serves at ``scope``'s path, with ``OPTIONS``; empty for an unknown path."""
    routes = scope["app"].router.routes
    # A fresh scope per question: the one routed already carries the route FastAPI picked.
    base = {k: scope[k] for k in ("type", "path", "root_path", "headers", "app") if k in scope}
    allowed = [
        method
        for method in METHODS
        if any(route.matches({**base, "method": method})[0] == Match.FULL for route in routes)
    ]
    return [*allowed, "OPTIONS"] if allowed else []


def allow_header(scope: Scope) -> str:
    return ", ".join(allowed_methods(scope))


class Options:
    """ASGI middleware: ``OPTIONS`` on a path that exists answers 204 with its ``Allow`` header (an
    unknown path goes on to the 404)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            allowed = allowed_methods(scope)
            if allowed:
                await Response(status_code=204, headers={"Allow": ", ".join(allowed)})(scope, receive, send)
                return
        await self.app(scope, receive, send)
