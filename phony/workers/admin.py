"""Handles tenant, API-key and agent commands: restore, decide, claim numbers, emit, tell the caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from phony.commands import publish_outcome, tell_applied
from phony.commands.agents import CreateAgent, DeleteAgent, UpdateAgent
from phony.commands.tenants import CreateTenant, IssueApiKey, RevokeApiKey, UpdateTenant
from phony.config import Settings
from phony.workers.agents import AgentCommand, AgentState, decide_agent, fold_agent
from phony.workers.decisions import AggregateState, Decision, Refusal, rejected
from phony.workers.phone_claims import PhoneClaims
from phony.workers.store import AggregateStore
from phony.workers.tenants import TenantCommand, TenantState, decide_tenant
from phony.workers.writer import EventWriter

ADMIN_COMMANDS = (
    CreateTenant,
    UpdateTenant,
    IssueApiKey,
    RevokeApiKey,
    CreateAgent,
    UpdateAgent,
    DeleteAgent,
)


class AdminHandler:
    """The worker's handler for the non-call aggregates."""

    def __init__(
        self,
        settings: Settings,
        store: AggregateStore,
        writer: EventWriter,
        redis: Redis,
        claims: PhoneClaims,
    ) -> None:
        self._settings = settings
        self._store = store
        self._writer = writer
        self._redis = redis
        self._claims = claims

    async def handle(self, command: TenantCommand | AgentCommand) -> None:
        """Apply ``command`` once; a redelivered command is recognised by its id and not re-applied."""
        if isinstance(command, CreateAgent | UpdateAgent | DeleteAgent):
            agent = self._store.get("agent", command.aggregate_id)
            assert isinstance(agent, AgentState)
            await self._apply(command, agent, lambda: self._agent(agent, command))
        else:
            tenant = self._store.get("tenant", command.aggregate_id)
            assert isinstance(tenant, TenantState)
            await self._apply(command, tenant, lambda: self._tenant(tenant, command))

    async def _apply(
        self,
        command: TenantCommand | AgentCommand,
        state: AggregateState,
        decide_and_emit: Callable[[], Awaitable[Decision]],
    ) -> None:
        try:
            emitted = [] if command.id in state.commands else await decide_and_emit()
        except Refusal as refusal:
            await publish_outcome(self._redis, self._settings, rejected(command, refusal))
            return
        if not emitted:
            # Nothing for the projector to do (a no-op or a redelivery): answer the caller here.
            await tell_applied(self._redis, self._settings, command.id, command.aggregate_id)

    async def _tenant(self, state: TenantState, command: TenantCommand) -> Decision:
        payloads = decide_tenant(state, command)
        await self._emit(state, command, payloads)
        return payloads

    async def _agent(self, state: AgentState, command: AgentCommand) -> Decision:
        payloads = decide_agent(state, command)
        if not payloads:
            return payloads
        # Claim newly routed numbers before the events exist; release dropped ones after.
        before = state.routed_numbers
        after = AgentState(seq=state.seq, settings=state.settings, deleted=state.deleted)
        for payload in payloads:
            fold_agent(after, payload)
        await self._claims.claim(command.aggregate_id, after.routed_numbers - before)
        await self._emit(state, command, payloads)
        await self._claims.release(command.aggregate_id, before - after.routed_numbers)
        return payloads

    async def _emit(
        self, state: AggregateState, command: TenantCommand | AgentCommand, payloads: Decision
    ) -> None:
        if payloads:
            await self._writer.emit(
                state,
                payloads,
                aggregate_id=command.aggregate_id,
                tenant_id=command.tenant_id,
                command_id=command.id,
            )
