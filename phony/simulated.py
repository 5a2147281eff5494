"""Running Phony against the simulators: when no Twilio / OpenAI credentials are configured,
``phony serve`` starts the fake Twilio and the fake OpenAI Realtime server in-process and points the
same product code at them, changing only URLs and keys."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from pydantic import SecretStr

from phony.config import Settings
from phony.sim.realtime import RealtimeSim
from phony.sim.twilio import TwilioSim

log = logging.getLogger(__name__)


@asynccontextmanager
async def simulated(settings: Settings) -> AsyncIterator[Settings]:
    """Start a simulator for each missing credential; yield the settings that point at them."""
    async with AsyncExitStack() as stack:
        updates: dict[str, object] = {}
        twilio: TwilioSim | None = None
        if not settings.has_twilio:
            twilio = TwilioSim(host=settings.host, port=settings.sim_twilio_port)
            await twilio.start()
            stack.push_async_callback(twilio.stop)
            twilio.app_url = settings.base_url
            updates |= {
                "twilio_account_sid": twilio.account_sid,
                "twilio_auth_token": SecretStr(twilio.auth_token),
                "twilio_api_base": twilio.base_url,
            }
            log.warning("no Twilio credentials: using the simulated Twilio at %s", twilio.base_url)
        if not settings.has_openai:
            model = RealtimeSim(
                api_key="sk-sim",
                host=settings.host,
                port=settings.sim_openai_port,
                scenario_lookup=twilio.scenario_of_caller if twilio else None,
            )
            await model.start()
            stack.push_async_callback(model.stop)
            updates |= {
                "openai_api_key": SecretStr(model.api_key),
                "openai_base_url": model.base_url,
                "openai_websocket_base_url": model.websocket_base_url,
            }
            log.warning("no OpenAI key: using the simulated Realtime API at %s", model.websocket_base_url)
        yield settings.model_copy(update=updates)
