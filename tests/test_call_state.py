"""A call's state is restorable from its events alone (what a worker taking over a partition does)."""

from __future__ import annotations

from phony.config import Settings
from phony.sim.twilio import TwilioSim
from phony.workers.calls.state import CallState, fold_call
from phony.workers.store import AggregateStore
from tests.calls import call_events, ring, wait_for_event
from tests.support import PhonyProcess, TenantHandle


async def test_call_state_is_folded_back_from_the_log(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    live = await ring(tenant, twilio_sim, phony, "default", settings, require_approval=False)
    await wait_for_event(settings, live.call.sid, "call.ended", within=60)
    store = AggregateStore(settings)
    store.register("call", CallState, fold_call)
    for event in await call_events(settings, live.call.sid):
        store.fold(event)
    state = store.get("call", live.call.sid)
    assert isinstance(state, CallState)
    assert state.seq == len(await call_events(settings, live.call.sid))
    assert (state.tenant_id, state.agent_id, state.direction) == (tenant.id, live.agent["id"], "inbound")
    assert state.agent is not None
    assert state.agent.greeting_message == live.agent["greeting_message"]
    assert state.ended
    assert state.end_reason == "ai_ended"
    assert state.answered_at is not None
    assert [s for s, _ in state.transcript] == ["ai", "caller", "ai", "caller", "ai"]
    assert state.transcript[1] == ("caller", "Hi, I'd like to check my order status.")
