"""``phony agents``: create, list and show a tenant's agents (with its API key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from phony.cli.connect import connected, given, tenant_key
from phony.cli.options import DEFAULT_BASE_URL, ApiKey, BaseUrl, Json, Limit, Offset
from phony.cli.output import details, done, paged, print_json, short_when, show, table

if TYPE_CHECKING:
    from phony_client.models import Agent

app = typer.Typer(help="Agents (with a tenant's API key).", no_args_is_help=True)

PROMPT_SHOWN = 120  # characters of the system prompt in `agents show` (--json has all of it)


def show_agent(agent: Agent) -> None:
    prompt = agent.system_prompt
    if len(prompt) > PROMPT_SHOWN:
        prompt = prompt[: PROMPT_SHOWN - 3] + "..."
    details(
        f"agent {agent.id}",
        [
            ("name", agent.name),
            ("active", agent.is_active),
            ("numbers", agent.phone_numbers),
            ("voice", agent.voice),
            ("model", agent.model),
            ("temperature", agent.temperature),
            ("max tokens", agent.max_tokens),
            ("greeting", agent.greeting_message),
            ("prompt", prompt),
            ("languages", agent.supported_languages),
            ("transfer to", agent.transfer_allowlist),
            ("approval", agent.require_approval),
            ("created", agent.created_at),
            ("updated", agent.updated_at),
        ],
    )


Numbers = Annotated[
    list[str] | None, typer.Option("--number", "-n", help="A phone number (E.164) for it; repeatable")
]


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="The agent's name")],
    system_prompt: Annotated[str | None, typer.Option("--prompt", help="Its system prompt")] = None,
    number: Numbers = None,
    voice: Annotated[str | None, typer.Option(help="alloy, ash, ballad, coral, echo, sage, ...")] = None,
    model: Annotated[str | None, typer.Option(help="The realtime model")] = None,
    greeting: Annotated[str | None, typer.Option(help="What it says first on a call")] = None,
    temperature: Annotated[float | None, typer.Option(help="0.6 to 1.2")] = None,
    transfer_to: Annotated[
        list[str] | None, typer.Option("--transfer-to", help="A number it may transfer to; repeatable")
    ] = None,
    require_approval: Annotated[
        bool, typer.Option("--require-approval", help="A supervisor approves each of its answers")
    ] = False,
    inactive: Annotated[bool, typer.Option("--inactive", help="Create it switched off")] = False,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    api_key: ApiKey = None,
    json: Json = False,
) -> None:
    """Create an agent; prints its id. Options left out take the server's defaults."""
    with connected(base_url, tenant_key(api_key)) as client:
        agent = client.agents.create(
            name=name,
            system_prompt=given(system_prompt),
            phone_numbers=given(number),
            voice=given(voice),
            model=given(model),
            greeting_message=given(greeting),
            temperature=given(temperature),
            transfer_allowlist=given(transfer_to),
            require_approval=require_approval,
            is_active=not inactive,
        )
    if json:
        print_json(agent)
        return
    numbers = f" on {', '.join(agent.phone_numbers)}" if agent.phone_numbers else " (no number)"
    done(f"created agent [bold]{show(agent.name)}[/]{numbers}")
    typer.echo(agent.id)  # alone on stdout: AGENT=$(phony agents create ...)


@app.command("list")
def list_(
    limit: Limit = 50,
    offset: Offset = 0,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Only active (or inactive) agents")
    ] = None,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    api_key: ApiKey = None,
    json: Json = False,
) -> None:
    """List the tenant's agents, oldest first."""
    with connected(base_url, tenant_key(api_key)) as client:
        page = client.agents.list(limit=limit, offset=offset, is_active=active)
    if json:
        print_json(page.data)
        return
    table(
        ["id", "name", "numbers", "active", "voice", "model", "created"],
        (
            [
                a.id,
                show(a.name),
                show(a.phone_numbers),
                show(a.is_active),
                show(a.voice),
                show(a.model),
                short_when(a.created_at),
            ]
            for a in page.data
        ),
        caption=paged(len(page.data), offset, page.total, "agent"),
    )


@app.command("show")
def show_(
    agent_id: Annotated[str, typer.Argument(help="The agent's id")],
    base_url: BaseUrl = DEFAULT_BASE_URL,
    api_key: ApiKey = None,
    json: Json = False,
) -> None:
    """Show one agent's settings."""
    with connected(base_url, tenant_key(api_key)) as client:
        agent = client.agents.get(agent_id)
    if json:
        print_json(agent)
    else:
        show_agent(agent)
