"""The commands that read the event log directly (not over HTTP): ``replay`` and ``rebuild``."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Annotated

import typer
from aiokafka.errors import KafkaError
from pymongo.errors import PyMongoError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from phony.cli.connect import fail
from phony.cli.options import Json
from phony.cli.output import stdout
from phony.cli.runtime import run, settings
from phony.cli.timeline import header, row
from phony.config import Settings

app = typer.Typer()

# Log lines would break up the timeline and the progress bar: only warnings and worse.
QUIET = "WARNING"


@contextlib.contextmanager
def log_errors(config: Settings) -> Iterator[None]:
    """Kafka or MongoDB out of reach, as one line and exit status 1."""
    try:
        yield
    except KafkaError as exc:
        fail(f"cannot read the event log at {config.kafka_bootstrap}: {exc}")
    except PyMongoError as exc:
        fail(f"cannot write the read models at {config.mongodb_url}: {exc}")


@app.command()
def replay(
    aggregate_id: Annotated[str, typer.Argument(help="A call SID (or agent/tenant id)")],
    json_lines: Json = False,
) -> None:
    """Print an aggregate's events from the log, in order: a timeline (time, seq, type, who, text),
    or with --json one event a line as JSON."""
    from phony.events.log import read_log

    config = settings(log_level=QUIET)
    console = stdout()

    async def main() -> int:
        count = 0
        async for logged in read_log(config, aggregate_id=aggregate_id):
            event = logged.event
            if json_lines:
                typer.echo(json.dumps(event.public()))
            else:
                if count == 0:
                    header(console, f"{event.aggregate_type} {aggregate_id}")
                console.print(row(event.timestamp, event.seq, event.type, event.data))
            count += 1
        return count

    with log_errors(config):
        count = run(main())
    if count == 0:
        fail(f"no events of {aggregate_id} on the log ({config.topic('events')})")


@app.command()
def rebuild(json_summary: Json = False) -> None:
    """Drop the read models and rebuild them from the event log, with a progress bar and its rate."""
    from phony.cli.rebuilding import log_extents
    from phony.cli.rebuilding import rebuild as rebuild_reporting
    from phony.events.log import LoggedEvent
    from phony.projections.documents import mongo_client

    config = settings(log_level=QUIET)
    columns = (
        TextColumn("rebuilding [bold]{task.fields[database]}[/]"),
        BarColumn(),
        TextColumn(
            "{task.percentage:>3.0f}%  {task.fields[events]} events  {task.fields[rate]:,.0f} events/s"
        ),
        TimeElapsedColumn(),
    )

    async def main() -> tuple[int, float]:
        extents = await log_extents(config)
        start_at = {p: r.start for p, r in extents.items()}
        done_at = dict(start_at)
        client = mongo_client(config)
        progress = Progress(*columns, console=Console(stderr=True), transient=True)
        task = progress.add_task(
            "",
            total=sum(len(r) for r in extents.values()) or 1,
            database=config.mongodb_db,
            events=0,
            rate=0.0,
        )
        began = time.monotonic()
        seen = 0

        def applied(logged: LoggedEvent) -> None:
            nonlocal seen
            seen += 1
            done_at[logged.partition] = logged.offset + 1
            elapsed = max(time.monotonic() - began, 1e-6)
            completed = sum(done_at[p] - start_at.get(p, 0) for p in done_at)
            progress.update(task, completed=completed, events=seen, rate=seen / elapsed)

        try:
            with progress:
                count = await rebuild_reporting(config, client, applied)
        finally:
            await client.close()
        return count, time.monotonic() - began

    with log_errors(config):
        count, seconds = run(main())
    rate = count / seconds if seconds > 0 else 0.0
    if json_summary:
        summary = {
            "database": config.mongodb_db,
            "events": count,
            "seconds": round(seconds, 3),
            "events_per_second": round(rate, 1),
        }
        typer.echo(json.dumps(summary))
        return
    stdout().print(
        f"rebuilt read models of [bold]{config.mongodb_db}[/] from {count} events "
        f"in {seconds:.1f} s ({rate:,.0f} events/s)"
    )
