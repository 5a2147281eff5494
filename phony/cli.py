"""The ``phony`` command."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

import typer
import uvloop
from rich.console import Console

from phony.config import Settings

app = typer.Typer(help="Phony: an open backend for AI phone agents.", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop (what uvicorn would pick itself; here the loop is ours)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def _settings(port: int | None = None) -> Settings:
    settings = Settings()
    if port is not None:
        settings = settings.model_copy(update={"port": port})
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request is noise here
    from phony.events.kafka_logs import quiet_kafka_client_logs

    quiet_kafka_client_logs()  # a broker outage would log thousands of lines a second
    return settings


@app.command()
def serve(port: int | None = typer.Option(None, help="HTTP port (default PHONY_PORT, 24187)")) -> None:
    """Run everything in one process: edge, worker and projector (and the simulators, for whichever
    of Twilio and OpenAI has no credentials configured)."""
    from phony.serve import all_in_one, serve_http
    from phony.simulated import simulated

    async def main(settings: Settings) -> None:
        async with simulated(settings) as effective:
            await serve_http(all_in_one(effective), effective)

    _run(main(_settings(port)))


@app.command()
def edge(port: int | None = typer.Option(None, help="HTTP port (default PHONY_PORT, 24187)")) -> None:
    """Run only the edge (REST, webhooks, WebSockets)."""
    from phony.edge.app import create_app
    from phony.serve import serve_http

    settings = _settings(port)
    _run(serve_http(create_app(settings), settings))


@app.command()
def worker() -> None:
    """Run a worker: consumes commands, owns calls and aggregates on its partitions."""
    from phony.serve import run_worker

    _run(run_worker(_settings()))


@app.command()
def projector() -> None:
    """Run a projector: keeps the MongoDB read models and feeds the live event streams."""
    from phony.serve import run_projector

    _run(run_projector(_settings()))


@app.command()
def rebuild() -> None:
    """Drop the read models and rebuild them from the event log."""
    from phony.projections.documents import mongo_client
    from phony.projections.rebuild import rebuild as do_rebuild

    settings = _settings()

    async def main() -> int:
        client = mongo_client(settings)
        try:
            return await do_rebuild(settings, client)
        finally:
            await client.close()

    count = _run(main())
    console.print(f"rebuilt read models of [bold]{settings.mongodb_db}[/] from {count} events")


@app.command()
def replay(
    aggregate_id: str = typer.Argument(..., help="A call SID (or agent/tenant id)"),
) -> None:
    """Print an aggregate's events from the log, in order, as JSON lines."""
    from phony.events.log import read_log

    settings = _settings()

    async def main() -> None:
        async for logged in read_log(settings, aggregate_id=aggregate_id):
            typer.echo(json.dumps(logged.event.public()))

    _run(main())


sim = typer.Typer(help="The simulated world (when `phony serve` runs the simulators).")
app.add_typer(sim, name="sim")


@sim.command("call")
def sim_call(
    from_: str = typer.Option(..., "--from", help="The caller's number"),
    to: str = typer.Option(..., "--to", help="The number called (an agent's)"),
    scenario: str = typer.Option(
        "default", help="The caller's script: default, hold, barge_in, transfer, ..."
    ),
) -> None:
    """Make a simulated caller ring one of your agents' numbers; prints the call's SID."""
    import httpx

    settings = _settings()
    url = f"http://{settings.host}:{settings.sim_twilio_port}/sim/inbound-calls"
    response = httpx.post(url, json={"from": from_, "to": to, "scenario": scenario}, timeout=10)
    if response.status_code != 201:
        console.print(f"[red]the simulated Twilio refused: {response.status_code} {response.text}")
        raise typer.Exit(1)
    sid = response.json()["sid"]
    Console(stderr=True).print(f"ringing {to} from {from_}: call [bold]{sid}[/] ({scenario})")
    typer.echo(sid)  # alone on stdout: CALL=$(phony sim call ...)


if __name__ == "__main__":
    app()
