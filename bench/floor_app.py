"""The floor for ``bench/rest.py``: the least a Python HTTP service can do for a list, a FastAPI route
answering a fixed page of ten agents (no auth, no store), served by uvicorn as Phony is."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()

_PAGE: dict[str, Any] = {
    "items": [{"id": f"agent_{i:032x}", "name": "Support line", "is_active": True} for i in range(10)],
    "total": 10,
    "limit": 10,
    "offset": 0,
}


@app.get("/agents/")
async def agents() -> dict[str, Any]:
    return _PAGE
