"""The ``phony`` command: run Phony (``serve``, ``edge``, ``worker``, ``projector``), read its log
(``replay``, ``rebuild``), drive the simulators (``sim``), and operate it over HTTP."""

from __future__ import annotations

import typer

from phony.cli import agents, calls, keys, log, server, sim, tenants

__all__ = ["app"]

app = typer.Typer(help="Phony: an open backend for AI phone agents.", no_args_is_help=True)
app.add_typer(server.app)
app.add_typer(log.app)
app.add_typer(sim.app, name="sim")
app.add_typer(tenants.app, name="tenants")
app.add_typer(keys.app, name="keys")
app.add_typer(agents.app, name="agents")
app.add_typer(calls.app, name="calls")
