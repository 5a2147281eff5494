"""``phony calls``: list calls, show one with its transcript, place one, and tail one live."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from phony.cli.connect import connected, given, tenant_key
from phony.cli.options import DEFAULT_BASE_URL, ApiKey, BaseUrl, Json, Limit, Offset
from phony.cli.output import (
    details,
    done,
    paged,
    print_json,
    print_json_line,
    short_when,
    show,
    stdout,
    table,
)
from phony.cli.timeline import header, row

if TYPE_CHECKING:
    from phony_client import PhonyClient
    from phony_client.models import Call, Event, Transcript

app = typer.Typer(help="Calls (with a tenant's API key).", no_args_is_help=True)

CallSid = Annotated[str, typer.Argument(help="The call's SID (CA...)")]


def _duration(seconds: float | None) -> str:
    return "[dim]-[/]" if seconds is None else f"{seconds:.1f} s"


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="in-progress, completed, failed, ...")] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent's calls")] = None,
    direction: Annotated[str | None, typer.Option(help="inbound or outbound")] = None,
    since: Annotated[
        str | None, typer.Option(help="Created at or after (RFC 3339, or a date: 2026-12-01)")
    ] = None,
    before: Annotated[str | None, typer.Option(help="Created before (RFC 3339, or a date)")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    api_key: ApiKey = None,
    json: Json = False,
) -> None:
    """List the tenant's calls, newest first (`calls show` has each one's agent and more)."""
    with connected(base_url, tenant_key(api_key)) as client:
        page = client.calls.list(
            status=status,
            agent_id=agent,
            direction=direction,
            created_since=since,
            created_before=before,
            limit=limit,
            offset=offset,
        )
    if json:
        print_json(page.data)
        return
    table(
        ["call", "status", "direction", "from", "to", "started", "duration", "ended by"],
        (
            [
                c.call_sid,
                c.status,
                c.direction,
                show(c.from_),
                show(c.to),
                short_when(c.created_at),
                _duration(c.duration),
                show(c.end_reason),
            ]
            for c in page.data
        ),
        caption=paged(len(page.data), offset, page.total, "call"),
    )


def _show_call(call: Call, transcript: Transcript) -> None:
    details(
        f"call {call.call_sid}",
        [
            ("status", call.status),
            ("direction", call.direction),
            ("from", call.from_),
            ("to", call.to),
            ("agent", call.agent_id),
            ("scenario", call.scenario),
            ("created", call.created_at),
            ("answered", call.answered_at),
            ("ended", call.ended_at),
            ("duration", None if call.duration is None else f"{call.duration:.1f} s"),
            ("ended by", call.end_reason),
            ("transferred to", call.transferred_to),
            ("awaiting approval", call.awaiting_approval),
            ("open question", call.open_question),
            ("events", call.last_seq),
        ],
    )
    console = stdout()
    console.print()
    console.print("[bold]transcript[/]" if transcript.entries else "[dim]no transcript yet[/]")
    for entry in transcript.entries:
        cut = " [dim](interrupted)[/]" if entry.interrupted else ""
        console.print(f"  [bold]{show(entry.speaker)}[/]: {show(entry.text)}{cut}")


@app.command("show")
def show_(
    call_sid: CallSid,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    api_key: ApiKey = None,
    json: Json = False,
) -> None:
    """Show a call: its parties, status and timing, and its transcript (--json: the call only)."""
    with connected(base_url, tenant_key(api_key)) as client:
        call = client.calls.get(call_sid)
        if json:
            print_json(call)
            return
        transcript = client.calls.transcript(call_sid)
    _show_call(call, transcript)


def _follow(client: PhonyClient, call_sid: str, since: int | None, json: bool) -> None:
    """Print the call's events as they happen, until its ``call.ended``."""
    console = stdout()
    if not json:
        header(console, f"call {call_sid}")
    with client.events.stream(call_sid, since=since) as stream:
        for event in stream:
            if json:
                print_json_line(event)
            else:
                console.print(row(event.timestamp, event.seq, event.type, _data(event)))


def _data(event: Event) -> dict[str, object]:
    data = event.data
    return data if isinstance(data, dict) else data.model_dump(mode="json", by_alias=True)


@app.command("tail")
def tail(
    call_sid: CallSid,
    since: Annotated[
        int | None, typer.Option(min=0, help="Start after this seq (default: the call's first event)")
    ] = None,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    api_key: ApiKey = None,
    json: Json = False,
) -> None:
    """Print a call's events as they happen, until it ends (--json: one JSON event a line). A
    dropped connection is resumed where it stopped; Ctrl-C leaves."""
    with connected(base_url, tenant_key(api_key)) as client:
        try:
            _follow(client, call_sid, since, json)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


@app.command("place")
def place(
    agent: Annotated[str, typer.Option("--agent", help="The agent that talks (its id)")],
    to: Annotated[str, typer.Option("--to", help="The number to call (E.164)")],
    from_: Annotated[
        str | None, typer.Option("--from", help="The number to call from (default: the agent's first)")
    ] = None,
    scenario: Annotated[
        str | None, typer.Option(help="The simulated callee's script (with the simulators)")
    ] = None,
    follow: Annotated[bool, typer.Option("--tail", help="Then print its events until it ends")] = False,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    api_key: ApiKey = None,
    json: Json = False,
) -> None:
    """Place an outbound call with an agent; prints its SID (--tail: then follows it)."""
    with connected(base_url, tenant_key(api_key)) as client:
        placed = client.calls.create(
            agent_id=agent, to_number=to, from_number=given(from_), scenario=given(scenario)
        )
        if json:
            print_json_line(placed)
        else:
            done(f"calling {to}: call [bold]{placed.call_sid}[/] ({placed.status})")
            typer.echo(placed.call_sid)  # alone on stdout: CALL=$(phony calls place ...)
        if follow:
            try:
                _follow(client, placed.call_sid, None, json)
            except KeyboardInterrupt:
                raise typer.Exit(130) from None
