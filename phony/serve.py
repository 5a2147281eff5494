"""How the parts run: the edge alone, a worker, a projector, or all in one process (``phony serve``).

Each part shares nothing with the others but Kafka, MongoDB and Redis; in one process they only
share the connection pools.
"""

from __future__ import annotations

import asyncio
import signal
from contextlib import AbstractAsyncContextManager

import uvicorn
from fastapi import FastAPI

from phony import heap
from phony.config import Settings
from phony.connections import connections
from phony.edge.app import Companion, create_app
from phony.edge.context import EdgeContext
from phony.metrics import Metrics, metrics_server
from phony.projections.runtime import projector_runtime
from phony.workers.runtime import worker_runtime


def _worker(settings: Settings) -> Companion:
    def start(ctx: EdgeContext) -> AbstractAsyncContextManager[object]:
        return worker_runtime(settings, ctx.redis, ctx.mongo, ctx.metrics)

    return start


def _projector(settings: Settings) -> Companion:
    def start(ctx: EdgeContext) -> AbstractAsyncContextManager[object]:
        return projector_runtime(settings, ctx.redis, ctx.metrics)

    return start


def all_in_one(settings: Settings, extra: tuple[Companion, ...] = ()) -> FastAPI:
    """The edge with a worker and a projector beside it."""
    return create_app(settings, companions=(_worker(settings), _projector(settings), *extra))


KEEP_ALIVE_S = 75


async def serve_http(app: FastAPI, settings: Settings) -> None:
    """Serve ``app`` with uvicorn until SIGINT/SIGTERM."""
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        # A DEBUG Phony does not turn on uvicorn's line per WebSocket frame.
        log_level="info" if settings.log_level.upper() == "DEBUG" else settings.log_level.lower(),
        log_config=None,  # uvicorn's lines go through Phony's handler (text or JSON, with context)
        ws="websockets-sansio",
        lifespan="on",
        timeout_graceful_shutdown=5,
        # Longer than clients keep an idle connection (httpx: 5 s, uvicorn's own default too): the
        # server closing an idle connection just as a client reuses it fails that request, and a
        # POST cannot be retried blindly.
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    await uvicorn.Server(config).serve()


async def until_stopped() -> None:
    """Wait for SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run_worker(settings: Settings) -> None:
    """``phony worker``: a worker process until SIGINT/SIGTERM (``/metrics`` on PHONY_METRICS_PORT)."""
    metrics = Metrics.create()
    async with (
        connections(settings) as (redis, mongo),
        worker_runtime(settings, redis, mongo, metrics),
        metrics_server(metrics, settings.host, settings.metrics_port),
    ):
        heap.settle()
        await until_stopped()


async def run_projector(settings: Settings) -> None:
    """``phony projector``: a projector process until SIGINT/SIGTERM (``/metrics`` on
    PHONY_METRICS_PORT)."""
    metrics = Metrics.create()
    async with (
        connections(settings) as (redis, _),
        projector_runtime(settings, redis, metrics),
        metrics_server(metrics, settings.host, settings.metrics_port),
    ):
        heap.settle()
        await until_stopped()
