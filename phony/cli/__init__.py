"""The ``phony`` command: run Phony (``serve``, ``edge``, ``worker``, ``projector``), read its log
(``replay``, ``rebuild``), drive the simulators (``sim``), and operate it over HTTP."""

from __future__ import annotations

import typer

from phony.cli import log, server, sim

__all__ = ["app"]

app = typer.Typer(help="Phony: an open backend for AI phone agents.", no_args_is_help=True)
app.add_typer(server.app)
app.add_typer(log.app)
app.add_typer(sim.app, name="sim")
