"""Upcasters: old payload versions are rewritten to the current one when read, never in the log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


def _agent_created_v1_to_v2(data: Payload) -> Payload:
    # v1 (the seed's agent) had flat fields and no transfer allowlist or approval mode.
    settings = dict(data)
    settings.setdefault("transfer_allowlist", [])
    settings.setdefault("require_approval", False)
    return {"settings": settings}


# (type, version it reads) -> function producing version + 1.
UPCASTERS: Mapping[tuple[str, int], Upcaster] = {
    ("agent.created", 1): _agent_created_v1_to_v2,
}


def upcast(event_type: str, version: int, data: Payload, target: int) -> Payload:
    """``data`` of ``event_type`` at ``version``, rewritten step by step to ``target``."""
    while version < target:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise LookupError(f"no upcaster for {event_type} v{version}")
        data = step(data)
        version += 1
    if version > target:
        raise ValueError(f"{event_type} v{version} is newer than this build knows (v{target})")
    return data
