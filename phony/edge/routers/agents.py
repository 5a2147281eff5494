"""``/agents/``: create, list, read, change and delete a tenant's agents."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response, status

from phony import epochs
from phony.commands.agents import CreateAgent, DeleteAgent, UpdateAgent
from phony.edge.deps import AgentsCaller, Ctx
from phony.edge.errors import ApiError, responses
from phony.edge.schemas.agents import AgentCreate, AgentList, AgentOut, AgentPatch
from phony.edge.schemas.common import Offset
from phony.events import new_id
from phony.events.agents import AgentSettings
from phony.projections import queries

router = APIRouter(prefix="/agents", tags=["agents"], responses=responses(401, 403, 429, 503))


def _out(doc: dict[str, Any]) -> AgentOut:
    return AgentOut.model_validate({**doc, "id": doc["_id"]})


async def _load(tenant_id: str, agent_id: str) -> AgentOut:
    # By _id; another tenant's agent, or a deleted one, is as unknown as none.
    doc = await queries.agent(agent_id).first()
    if doc is None or doc["tenant_id"] != tenant_id or doc["deleted"]:
        raise ApiError(404, "agent not found", details={"id": agent_id})
    return _out(doc)


@router.post("/", status_code=status.HTTP_201_CREATED, responses=responses(409, 422))
async def create_agent(body: AgentCreate, ctx: Ctx, caller: AgentsCaller) -> AgentOut:
    """Create an agent. Its phone numbers must not belong to another active agent (409)."""
    agent_id = new_id("agent")
    await ctx.bus.execute(
        CreateAgent(
            tenant_id=caller.tenant_id,
            aggregate_id=agent_id,
            settings=AgentSettings.model_validate(body.model_dump()),
        )
    )
    return await _load(caller.tenant_id, agent_id)


@router.get("/", responses=responses(422))
async def list_agents(
    ctx: Ctx,
    caller: AgentsCaller,
    limit: int = Query(10, ge=1, le=100),
    offset: Offset = 0,
    is_active: bool | None = None,
) -> AgentList:
    """The tenant's agents, oldest first (in the order their creation was recorded)."""

    async def read() -> AgentList:
        agents = await queries.agent_list(caller.tenant_id, is_active)
        docs = await agents.page(offset, limit)
        return AgentList(agents=[_out(d) for d in docs], total=agents.visible, limit=limit, offset=offset)

    # Remembered until one of the tenant's agents changes (the projector renews the epoch first).
    page = f"{caller.tenant_id}:{is_active}:{offset}:{limit}"
    return await ctx.agent_pages.resolve(page, epochs.agents_of(caller.tenant_id), read)


@router.get("/{agent_id}", responses=responses(404))
async def get_agent(agent_id: str, caller: AgentsCaller) -> AgentOut:
    return await _load(caller.tenant_id, agent_id)


async def _update(
    ctx: Ctx, tenant_id: str, agent_id: str, changes: dict[str, Any], replace: bool
) -> AgentOut:
    await _load(tenant_id, agent_id)
    await ctx.bus.execute(
        UpdateAgent(tenant_id=tenant_id, aggregate_id=agent_id, changes=changes, replace=replace)
    )
    return await _load(tenant_id, agent_id)


@router.patch("/{agent_id}", responses=responses(404, 409, 422))
async def patch_agent(agent_id: str, body: AgentPatch, ctx: Ctx, caller: AgentsCaller) -> AgentOut:
    """Change the fields sent; the others stay."""
    return await _update(ctx, caller.tenant_id, agent_id, body.changes(), replace=False)


@router.put("/{agent_id}", responses=responses(404, 409, 422))
async def put_agent(agent_id: str, body: AgentCreate, ctx: Ctx, caller: AgentsCaller) -> AgentOut:
    """Replace the agent's settings (omitted fields take their defaults)."""
    return await _update(ctx, caller.tenant_id, agent_id, body.model_dump(), replace=True)


@router.delete("/{agent_id}", status_code=status.HTTP_204_NO_CONTENT, responses=responses(404))
async def delete_agent(agent_id: str, ctx: Ctx, caller: AgentsCaller) -> Response:
    """Delete the agent; its numbers are free for other agents at once."""
    await _load(caller.tenant_id, agent_id)
    await ctx.bus.execute(DeleteAgent(tenant_id=caller.tenant_id, aggregate_id=agent_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
