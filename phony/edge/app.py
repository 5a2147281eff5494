"""The edge's FastAPI application: REST, Twilio webhooks and WebSockets, turning input into commands."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from phony import heap
from phony.commands import CommandBus
from phony.commands.audio import AudioProducer
from phony.config import Settings
from phony.connections import connections
from phony.edge.body_limit import BodyLimit
from phony.edge.context import EdgeContext
from phony.edge.errors import CatchAll, install_error_handlers
from phony.edge.http_metrics import HttpMetrics
from phony.edge.input_guard import InputGuard
from phony.edge.key_cache import KeyCache
from phony.edge.live.hub import EventHub
from phony.edge.live.leases import SocketLeases
from phony.edge.media import audio_hub
from phony.edge.methods import Options
from phony.edge.openapi import install_error_docs
from phony.edge.redact import redacted_server_logs
from phony.edge.remembered import Remembered
from phony.edge.routers import (
    agents,
    asyncapi,
    calls,
    events_ws,
    health,
    media_ws,
    metrics,
    outbound,
    override,
    tenants,
    twilio_webhooks,
)
from phony.edge.static import install_static
from phony.edge.twilio_auth import TwilioSignatures
from phony.events.log import make_broker
from phony.metrics import Metrics

# Pages of agent lists an edge process remembers (a page of 10 agents is a few kB).
AGENT_PAGES = 2_000

Companion = Callable[[EdgeContext], AbstractAsyncContextManager[object]]


def create_app(settings: Settings, companions: tuple[Companion, ...] = ()) -> FastAPI:
    """The edge app. ``companions`` run beside it for its lifetime (``phony serve`` runs the worker,
    the projector and the simulators this way); they get the edge's connections to share."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            signatures = TwilioSignatures(settings)  # refuses to start without a token in prod
            redis, mongo = await stack.enter_async_context(connections(settings))
            broker = make_broker(settings, "edge")
            await broker.start()
            stack.push_async_callback(broker.stop)
            bus = CommandBus(settings, redis)
            await bus.start()
            stack.push_async_callback(bus.stop)
            audio = AudioProducer(settings)
            await audio.start()
            stack.push_async_callback(audio.stop)
            stack.enter_context(redacted_server_logs())
            hub = EventHub(settings, redis)
            await hub.start()
            stack.push_async_callback(hub.stop)
            audio_out = audio_hub(redis)
            await audio_out.start()
            stack.push_async_callback(audio_out.stop)
            ctx = EdgeContext(
                settings=settings,
                redis=redis,
                mongo=mongo,
                broker=broker,
                bus=bus,
                audio=audio,
                signatures=signatures,
                hub=hub,
                audio_out=audio_out,
                leases=SocketLeases(settings, redis),
                metrics=Metrics.create(),
                keys=KeyCache(redis, settings),
                agent_pages=Remembered(redis, settings, AGENT_PAGES),
            )
            for companion in companions:
                await stack.enter_async_context(companion(ctx))
            heap.settle()
            app.state.ctx = ctx
            yield

    app = FastAPI(
        title="Phony",
        version="0.1.0",
        summary="An open backend for AI phone agents: Twilio calls answered by realtime voice models.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_error_docs(app)
    # Innermost first: the body limit counts what the input guard reads; the guard refuses bad text
    # and numbers before routing; OPTIONS is answered for every route; CatchAll keeps the connection.
    app.add_middleware(CatchAll)
    app.add_middleware(Options)
    app.add_middleware(InputGuard)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HttpMetrics)  # outermost: times what every other layer does
    routers = (
        health,
        tenants,
        agents,
        outbound,
        override,
        twilio_webhooks,
        media_ws,
        calls,
        events_ws,
        asyncapi,
        metrics,
    )
    for module in routers:
        app.include_router(module.router)
    install_static(app)
    return app
