"""The commands that read the event log directly (not over HTTP): ``replay`` and ``rebuild``."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from phony.cli.runtime import run, settings

app = typer.Typer()


@app.command()
def rebuild() -> None:
    """Drop the read models and rebuild them from the event log."""
    from phony.projections.documents import mongo_client
    from phony.projections.rebuild import rebuild as do_rebuild

    config = settings()

    async def main() -> int:
        client = mongo_client(config)
        try:
            return await do_rebuild(config, client)
        finally:
            await client.close()

    count = run(main())
    Console().print(f"rebuilt read models of [bold]{config.mongodb_db}[/] from {count} events")


@app.command()
def replay(
    aggregate_id: str = typer.Argument(..., help="A call SID (or agent/tenant id)"),
) -> None:
    """Print an aggregate's events from the log, in order, as JSON lines."""
    from phony.events.log import read_log

    config = settings()

    async def main() -> None:
        async for logged in read_log(config, aggregate_id=aggregate_id):
            typer.echo(json.dumps(logged.event.public()))

    run(main())
