"""The options the operator commands share, each declared once as an ``Annotated`` alias."""

from __future__ import annotations

from typing import Annotated

import typer

DEFAULT_BASE_URL = "http://localhost:24187"

BaseUrl = Annotated[
    str,
    typer.Option(
        "--base-url", envvar="PHONY_BASE_URL", help="Phony's URL (default PHONY_BASE_URL)", show_default=True
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option("--api-key", envvar="PHONY_API_KEY", help="A tenant's API key (default PHONY_API_KEY)"),
]
AdminKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="PHONY_ADMIN_KEY",
        help="The operator key (default PHONY_ADMIN_KEY, else .services/admin-key as `make up` writes it)",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts) instead of tables")]
Limit = Annotated[int, typer.Option("--limit", min=1, max=100, help="How many to show")]
Offset = Annotated[int, typer.Option("--offset", min=0, help="How many to skip")]
