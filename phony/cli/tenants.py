"""``phony tenants``: create, list and suspend tenants (with the operator key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer

from phony.cli.connect import connected, operator_key
from phony.cli.options import DEFAULT_BASE_URL, AdminKey, BaseUrl, Json, Limit, Offset
from phony.cli.output import details, done, paged, print_json, short_when, show, table

if TYPE_CHECKING:
    from phony_client.models import Tenant

app = typer.Typer(help="Tenants (with the operator key).", no_args_is_help=True)

PerMinute = Annotated[int | None, typer.Option(min=1, help="Rate limit (default: the deployment's)")]


def _show(tenant: Tenant) -> None:
    limits = tenant.limits
    details(
        f"tenant {tenant.id}",
        [
            ("name", tenant.name),
            ("status", tenant.status),
            ("agents/min", limits.agents_per_minute or "default"),
            ("calls/min", limits.calls_per_minute or "default"),
            ("websockets", limits.websockets or "default"),
            ("created", tenant.created_at),
            ("updated", tenant.updated_at),
        ],
    )


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The tenant's name")],
    agents_per_minute: PerMinute = None,
    calls_per_minute: PerMinute = None,
    websockets: Annotated[int | None, typer.Option(min=1, help="Open event sockets per key")] = None,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    api_key: AdminKey = None,
    json: Json = False,
) -> None:
    """Create a tenant; prints its id (then `phony keys create --tenant ID` gives it a key)."""
    from phony_client.models import TenantLimits

    limits = TenantLimits(
        agents_per_minute=agents_per_minute, calls_per_minute=calls_per_minute, websockets=websockets
    )
    with connected(base_url, operator_key(api_key)) as client:
        tenant = client.tenants.create(name=name, limits=limits)
    if json:
        print_json(tenant)
        return
    done(f"created tenant [bold]{show(tenant.name)}[/]")
    typer.echo(tenant.id)  # alone on stdout: TENANT=$(phony tenants create acme)


@app.command("list")
def list_(
    limit: Limit = 50,
    offset: Offset = 0,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    api_key: AdminKey = None,
    json: Json = False,
) -> None:
    """List tenants, oldest first."""
    with connected(base_url, operator_key(api_key)) as client:
        page = client.tenants.list(limit=limit, offset=offset)
    if json:
        print_json(page.data)
        return
    table(
        ["id", "name", "status", "agents/min", "calls/min", "created"],
        (
            [
                t.id,
                show(t.name),
                t.status,
                show(t.limits.agents_per_minute),
                show(t.limits.calls_per_minute),
                short_when(t.created_at),
            ]
            for t in page.data
        ),
        caption=paged(len(page.data), offset, page.total, "tenant"),
    )


@app.command("show")
def show_(
    tenant_id: Annotated[str, typer.Argument(help="The tenant's id")],
    base_url: BaseUrl = DEFAULT_BASE_URL,
    api_key: AdminKey = None,
    json: Json = False,
) -> None:
    """Show one tenant."""
    with connected(base_url, operator_key(api_key)) as client:
        tenant = client.tenants.get(tenant_id)
    if json:
        print_json(tenant)
    else:
        _show(tenant)


def _set_status(
    tenant_id: str, status: Literal["active", "suspended"], base_url: str, api_key: str | None, json: bool
) -> None:
    with connected(base_url, operator_key(api_key)) as client:
        tenant = client.tenants.update(tenant_id, status=status)
    if json:
        print_json(tenant)
    else:
        done(f"tenant [bold]{tenant.id}[/] ({show(tenant.name)}) is {tenant.status}")


@app.command("suspend")
def suspend(
    tenant_id: Annotated[str, typer.Argument(help="The tenant's id")],
    base_url: BaseUrl = DEFAULT_BASE_URL,
    api_key: AdminKey = None,
    json: Json = False,
) -> None:
    """Suspend a tenant: its keys are refused (403) until it is activated again."""
    _set_status(tenant_id, "suspended", base_url, api_key, json)


@app.command("activate")
def activate(
    tenant_id: Annotated[str, typer.Argument(help="The tenant's id")],
    base_url: BaseUrl = DEFAULT_BASE_URL,
    api_key: AdminKey = None,
    json: Json = False,
) -> None:
    """Activate a suspended tenant again."""
    _set_status(tenant_id, "active", base_url, api_key, json)
