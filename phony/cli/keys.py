"""``phony keys``: issue, list and revoke a tenant's API keys (with the operator key)."""

from __future__ import annotations

from typing import Annotated

import typer

from phony.cli.connect import connected, given, operator_key
from phony.cli.options import DEFAULT_BASE_URL, AdminKey, BaseUrl, Json
from phony.cli.output import counted, done, print_json, short_when, show, table

app = typer.Typer(help="A tenant's API keys (with the operator key).", no_args_is_help=True)

TenantId = Annotated[str, typer.Option("--tenant", "-t", help="The tenant's id")]


@app.command("create")
def create(
    tenant: TenantId,
    name: Annotated[str | None, typer.Option(help="What the key is for")] = None,
    expires_in: Annotated[
        int | None, typer.Option(min=1, help="Seconds until the key expires (default: never)")
    ] = None,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    api_key: AdminKey = None,
    json: Json = False,
) -> None:
    """Issue a key; prints it, once: Phony keeps only its hash."""
    with connected(base_url, operator_key(api_key)) as client:
        key = client.tenants.keys.create(
            tenant_id=tenant,
            name=given(name),
            expires_in_seconds=given(expires_in),
        )
    if json:
        print_json(key)
        return
    expiry = f", expires {show(key.expires_at)}" if key.expires_at else ""
    done(
        f"key [bold]{key.id}[/] ({show(key.name)}{expiry}) for tenant {key.tenant_id}; it is shown only now:"
    )
    typer.echo(key.key)  # alone on stdout: export PHONY_API_KEY=$(phony keys create -t ...)


@app.command("list")
def list_(
    tenant: TenantId,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    api_key: AdminKey = None,
    json: Json = False,
) -> None:
    """List a tenant's keys (their prefix, never the key), oldest first."""
    with connected(base_url, operator_key(api_key)) as client:
        keys = client.tenants.keys.list(tenant_id=tenant)
    if json:
        print_json(keys)
        return
    table(
        ["id", "name", "prefix", "active", "created", "expires", "revoked"],
        (
            [
                k.id,
                show(k.name),
                k.prefix + "...",
                show(k.active),
                short_when(k.created_at),
                short_when(k.expires_at),
                short_when(k.revoked_at),
            ]
            for k in keys
        ),
        caption=f"{counted(len(keys), 'key')} of tenant {tenant}",
    )


@app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (not the key)")],
    tenant: TenantId,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    api_key: AdminKey = None,
    json: Json = False,
) -> None:
    """Revoke a key: it is refused from the moment this returns."""
    with connected(base_url, operator_key(api_key)) as client:
        key = client.tenants.keys.revoke(key_id, tenant_id=tenant)
    if json:
        print_json(key)
    else:
        done(f"revoked key [bold]{key.id}[/] ({show(key.name)}) of tenant {key.tenant_id}")
