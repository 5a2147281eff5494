"""Each dependency of the routes, declared once as an ``Annotated`` alias."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import Depends, Header, Query
from starlette.requests import HTTPConnection

from phony.edge.auth import Principal, bearer, check_admin, presented_key, tenant_for_key
from phony.edge.context import EdgeContext
from phony.edge.ratelimit import hit


async def get_context(connection: HTTPConnection) -> EdgeContext:
    """The process's connections (HTTP requests and WebSockets alike). Async though it awaits nothing:
    FastAPI runs a plain ``def`` dependency in its thread pool, a thread hop on every request."""
    ctx: EdgeContext = connection.app.state.ctx
    return ctx


Ctx = Annotated[EdgeContext, Depends(get_context)]

AuthHeader = Annotated[
    str | None,
    Header(alias="Authorization", description="`Bearer <API key>`", include_in_schema=True),
]


TokenQuery = Annotated[
    str | None,
    Query(
        alias="token",
        description="The API key, for a link a browser opens (an `audio_url`); prefer the header",
    ),
]


async def _tenant(ctx: Ctx, authorization: AuthHeader = None) -> Principal:
    return await tenant_for_key(bearer(authorization), ctx.keys)


async def _tenant_by_link(ctx: Ctx, authorization: AuthHeader = None, token: TokenQuery = None) -> Principal:
    return await tenant_for_key(presented_key(authorization, token), ctx.keys)


async def _admin(ctx: Ctx, authorization: AuthHeader = None) -> None:
    check_admin(bearer(authorization), ctx.settings.admin_key.get_secret_value())


Tenant = Annotated[Principal, Depends(_tenant)]
LinkTenant = Annotated[Principal, Depends(_tenant_by_link)]
Admin = Annotated[None, Depends(_admin)]

Category = Literal["agents", "calls"]


async def count_request(ctx: EdgeContext, principal: Principal, category: Category) -> Principal:
    """Count a request against its key's per-minute limit for ``category``; 429 over it."""
    default = ctx.settings.rate_agents_per_min if category == "agents" else ctx.settings.rate_calls_per_min
    limit = principal.limits.get(f"{category}_per_minute") or default
    await hit(ctx.redis, ctx.settings.topic_prefix, f"{category}:{principal.key_id}", limit)
    return principal


def rate_limited(category: Category) -> Callable[[EdgeContext, Principal], Awaitable[Principal]]:
    """A dependency that authenticates the tenant and counts the request against its key's limit."""

    async def dependency(ctx: Ctx, principal: Tenant) -> Principal:
        return await count_request(ctx, principal, category)

    return dependency


def rate_limited_link(category: Category) -> Callable[[EdgeContext, Principal], Awaitable[Principal]]:
    """``rate_limited`` for routes whose URLs browsers open: the key may come as ``?token=``."""

    async def dependency(ctx: Ctx, principal: LinkTenant) -> Principal:
        return await count_request(ctx, principal, category)

    return dependency


AgentsCaller = Annotated[Principal, Depends(rate_limited("agents"))]
CallsCaller = Annotated[Principal, Depends(rate_limited("calls"))]
# The audio routes: their URLs are handed to browsers and players, which send no header.
CallsLinkCaller = Annotated[Principal, Depends(rate_limited_link("calls"))]
