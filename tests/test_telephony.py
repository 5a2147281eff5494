"""Twilio's REST API as the worker uses it (phony.workers.calls.telephony), against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from phony.config import Settings
from phony.sim.twilio import TwilioSim
from phony.workers.calls.telephony import CallUnknown, Telephony
from tests.calls import ring
from tests.support import PhonyProcess, SimEnv, TenantHandle


@pytest.fixture
async def telephony(sims: SimEnv) -> AsyncIterator[Telephony]:
    client = Telephony(
        Settings(
            _env_file=None,
            twilio_account_sid=sims.twilio_account_sid,
            twilio_auth_token=sims.twilio_auth_token,
            twilio_api_base=sims.twilio_api_base,
        )
    )
    yield client
    await client.close()


async def test_a_call_twilio_does_not_know_is_told_apart_from_twilio_being_away(
    telephony: Telephony,
) -> None:
    with pytest.raises(CallUnknown):
        await telephony.status("CA" + "0" * 32)


async def test_a_live_call_stands_in_progress_and_an_ended_one_completed_with_its_duration(
    telephony: Telephony, tenant: TenantHandle, twilio_sim: TwilioSim, phony: PhonyProcess, settings: Settings
) -> None:
    live = await ring(tenant, twilio_sim, phony, "hold", settings)
    assert await telephony.status(live.call.sid) == ("in-progress", None)
    await telephony.hang_up(live.call.sid)
    status, duration = await telephony.status(live.call.sid)
    assert status == "completed"
    assert duration is not None
    assert duration >= 0
