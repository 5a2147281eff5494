"""``phony sim``: the simulated world (when ``phony serve`` runs the simulators)."""

from __future__ import annotations

import typer
from rich.console import Console

from phony.cli.runtime import settings

app = typer.Typer(help="The simulated world (when `phony serve` runs the simulators).", no_args_is_help=True)


@app.command("call")
def sim_call(
    from_: str = typer.Option(..., "--from", help="The caller's number"),
    to: str = typer.Option(..., "--to", help="The number called (an agent's)"),
    scenario: str = typer.Option(
        "default", help="The caller's script: default, hold, barge_in, transfer, ..."
    ),
) -> None:
    """Make a simulated caller ring one of your agents' numbers; prints the call's SID."""
    import httpx

    config = settings()
    url = f"http://{config.host}:{config.sim_twilio_port}/sim/inbound-calls"
    stderr = Console(stderr=True)
    try:
        response = httpx.post(url, json={"from": from_, "to": to, "scenario": scenario}, timeout=10)
    except httpx.TransportError as exc:
        stderr.print(f"[red]error:[/] cannot reach the simulated Twilio at {url}: {exc}", highlight=False)
        raise typer.Exit(1) from None
    if response.status_code != 201:
        stderr.print(f"[red]the simulated Twilio refused: {response.status_code} {response.text}")
        raise typer.Exit(1)
    sid = response.json()["sid"]
    stderr.print(f"ringing {to} from {from_}: call [bold]{sid}[/] ({scenario})")
    typer.echo(sid)  # alone on stdout: CALL=$(phony sim call ...)
