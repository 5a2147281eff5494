"""The commands that run Phony: ``serve`` (all in one), ``edge``, ``worker``, ``projector``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from phony.cli.runtime import run, settings

if TYPE_CHECKING:
    from phony.config import Settings

app = typer.Typer()

Port = typer.Option(None, help="HTTP port (default PHONY_PORT, 24187)")


@app.command()
def serve(port: int | None = Port) -> None:
    """Run everything in one process: edge, worker and projector (and the simulators, for whichever
    of Twilio and OpenAI has no credentials configured)."""
    from phony.logs import announce
    from phony.serve import all_in_one, serve_http
    from phony.simulated import simulated

    async def main(config: Settings) -> None:
        async with simulated(config) as effective:
            await serve_http(all_in_one(effective), effective)

    config = settings(port)
    announce(config, "serve", f"edge, worker and projector on {config.base_url} (/metrics there)")
    run(main(config))


@app.command()
def edge(port: int | None = Port) -> None:
    """Run only the edge (REST, webhooks, WebSockets)."""
    from phony.edge.app import create_app
    from phony.logs import announce
    from phony.serve import serve_http

    config = settings(port)
    announce(config, "edge", f"REST, webhooks and WebSockets on {config.base_url} (/metrics there)")
    run(serve_http(create_app(config), config))


@app.command()
def worker() -> None:
    """Run a worker: consumes commands, owns calls and aggregates on its partitions."""
    from phony.logs import announce
    from phony.serve import run_worker

    config = settings()
    announce(config, "worker", f"group {config.group('worker')}{_metrics_at(config)}")
    run(run_worker(config))


@app.command()
def projector() -> None:
    """Run a projector: keeps the MongoDB read models and feeds the live event streams."""
    from phony.logs import announce
    from phony.serve import run_projector

    config = settings()
    announce(config, "projector", f"group {config.group('projector')}{_metrics_at(config)}")
    run(run_projector(config))


def _metrics_at(config: Settings) -> str:
    if not config.metrics_port:
        return ", no /metrics (PHONY_METRICS_PORT=0)"
    return f", /metrics on http://{config.host}:{config.metrics_port}/metrics"
