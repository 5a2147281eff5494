"""The commands that read the event log directly (not over HTTP): ``replay``, ``rebuild`` and
``parked``."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from phony.cli.connect import fail
from phony.cli.options import Json
from phony.cli.output import details, stdout
from phony.cli.runtime import run, settings
from phony.cli.timeline import header, row

if TYPE_CHECKING:  # the Kafka and MongoDB clients are imported when these commands run
    from phony.config import Settings
    from phony.projections.parking import ParkedEvent

app = typer.Typer()

# Log lines would break up the timeline and the progress bar: only warnings and worse. A server out
# of reach is said in one line (log_errors), so the clients' own error logs about it are not shown.
QUIET = "WARNING"
SILENCED = ("aiokafka", "asyncio", "pymongo")


@contextlib.contextmanager
def log_errors(config: Settings) -> Iterator[None]:
    """Kafka or MongoDB out of reach, as one line and exit status 1."""
    from aiokafka.errors import KafkaError
    from pymongo.errors import PyMongoError

    for name in SILENCED:
        logging.getLogger(name).setLevel(logging.CRITICAL)
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


PROGRESS = "{task.percentage:>3.0f}%  {task.fields[events]} events  {task.fields[rate]:,.0f} events/s"


@app.command()
def rebuild(json_summary: Json = False) -> None:
    """Drop the read models and rebuild them from the event log, with a progress bar and its rate."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from phony.cli.rebuilding import Tally, log_extents
    from phony.events.log import LoggedEvent
    from phony.projections.documents import mongo_client
    from phony.projections.rebuild import rebuild as rebuild_read_models

    config = settings(log_level=QUIET)
    progress = Progress(
        TextColumn(f"rebuilding [bold]{config.mongodb_db}[/]"),
        BarColumn(),
        TextColumn(PROGRESS),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,  # the summary line below says it all once done
    )

    async def main() -> tuple[int, Tally]:
        tally = Tally(await log_extents(config))
        task = progress.add_task("", total=tally.total, events=0, rate=0.0)

        def applied(logged: LoggedEvent) -> None:
            tally.passed(logged)
            progress.update(task, completed=tally.completed, events=tally.events, rate=tally.rate)

        client = mongo_client(config)
        try:
            with progress:
                return await rebuild_read_models(config, client, applied), tally
        finally:
            await client.close()

    with log_errors(config):
        count, tally = run(main())
    if json_summary:
        summary = {"database": config.mongodb_db, "events": count, "seconds": round(tally.seconds, 3)}
        typer.echo(json.dumps({**summary, "events_per_second": round(tally.rate, 1)}))
        return
    stdout().print(
        f"rebuilt read models of [bold]{config.mongodb_db}[/] from {count} events "
        f"in {tally.seconds:.1f} s ({tally.rate:,.0f} events/s)"
    )


@app.command()
def parked(json_lines: Json = False) -> None:
    """List the events the read-model store refused (parked, oldest first): where each is on the log,
    what it is and what the store said. `phony rebuild` projects them again once the store takes them."""
    from phony.projections.parking import read_parked

    config = settings(log_level=QUIET)

    async def main() -> list[ParkedEvent]:
        return [entry async for entry in read_parked(config)]

    with log_errors(config):
        entries = run(main())
    if json_lines:
        for entry in entries:
            typer.echo(entry.model_dump_json())
        return
    if not entries:
        stdout().print(f"no parked events ({config.topic('parked')})")
        return
    for e in entries:  # one block each: the store's reason is too long for a table's column
        details(
            f"{e.event_type} {e.seq} of {e.aggregate_id}",
            [
                ("log place", f"{config.topic('events')} partition {e.partition} offset {e.offset}"),
                ("parked", e.parked_at),
                ("attempts", e.attempts),
                ("reason", e.reason),
            ],
        )
