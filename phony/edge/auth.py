"""API keys (shown once, stored as SHA-256 hashes) and who a request is: a tenant or the operator."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from phony.edge.errors import ApiError
from phony.edge.key_cache import KeyCache, Known
from phony.projections import queries

KEY_PREFIX = "pk_live_"
DISPLAY_PREFIX_LEN = 12


def hash_key(key: str) -> str:
    """The stored form of a key. Keys carry 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> tuple[str, str]:
    """A fresh key and its display prefix."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:DISPLAY_PREFIX_LEN]


@dataclass(frozen=True)
class Principal:
    """The tenant a request acts for, and the key it used."""

    tenant_id: str
    key_id: str
    limits: dict[str, int | None]


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def presented_key(authorization: str | None, token: str | None) -> str | None:
    """The key a client sent: ``Authorization: Bearer`` first, else a ``?token=`` (for what a browser
    opens by URL and cannot add a header to: the events WebSocket, an ``audio_url``)."""
    return bearer(authorization) or token or None


async def _resolve(query: queries.Query) -> Principal:
    return (await _look_up(query)).principal


async def _look_up(query: queries.Query) -> Known[Principal]:
    """The principal of the key matching ``query``; ``ApiError`` 401 when the key is unknown,
    revoked or expired, 403 when its tenant is suspended. One read: the key's document carries its
    tenant's status and limits (see ``ApiKeyDoc``)."""
    doc = await query.first()
    if doc is None:
        raise ApiError(401, "invalid API key")
    if doc.get("revoked_at") is not None:
        raise ApiError(401, "API key revoked")
    expires = doc.get("expires_at")
    if expires is not None and expires <= datetime.now(UTC):
        raise ApiError(401, "API key expired")
    status, limits = doc.get("tenant_status"), doc.get("tenant_limits")
    if status is None:  # a key projected before keys carried their tenant's status: ask the tenant
        tenant = await queries.tenant(doc["tenant_id"]).first()
        if tenant is None:
            raise ApiError(401, "invalid API key")
        status, limits = tenant.get("status"), tenant.get("limits")
    if status != "active":
        raise ApiError(403, "tenant suspended")
    principal = Principal(tenant_id=doc["tenant_id"], key_id=doc["_id"], limits=limits or {})
    return Known(principal, expires)


async def tenant_for_key(key: str | None, keys: KeyCache[Principal]) -> Principal:
    """Resolve a tenant key (remembered in ``keys`` while nothing about it changed); 401 when
    missing, unknown, revoked or expired, 403 when suspended."""
    if not key:
        raise ApiError(401, "missing API key: send Authorization: Bearer <key>")
    key_hash = hash_key(key)
    return await keys.resolve(key_hash, lambda: _look_up(queries.key_by_hash(key_hash)))


async def key_problem(principal: Principal) -> str | None:
    """Why a key accepted earlier no longer works (revoked, expired, tenant suspended), or ``None``.

    For long-lived connections that re-check their key, by ``_id``.
    """
    try:
        await _resolve(queries.key(principal.key_id))
    except ApiError as error:
        return error.message
    return None


def check_admin(key: str | None, admin_key: str) -> None:
    """Accept only the operator key (constant-time); with none configured, the operator API is off."""
    if not key:
        raise ApiError(401, "missing operator key")
    if not admin_key or not hmac.compare_digest(key.encode(), admin_key.encode()):
        raise ApiError(401, "invalid operator key")
