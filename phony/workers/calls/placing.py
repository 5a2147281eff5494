"""Placing an outbound call: Twilio dials, then the call is registered under the CallSid it gave."""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from redis.asyncio import Redis
from twilio.base.exceptions import TwilioRestException

from phony.commands import publish_outcome
from phony.commands.calls import PlaceCall, RegisterOutboundCall
from phony.config import Settings
from phony.events.log import Topics
from phony.workers.calls.telephony import Telephony
from phony.workers.decisions import Refusal, rejected

REMEMBER_S = 86_400


async def place_call(
    settings: Settings, redis: Redis, broker: KafkaBroker, telephony: Telephony, command: PlaceCall
) -> None:
    """Dial ``command.to``; a Twilio refusal is the REST caller's 400. Twilio has no idempotency key:
    which call a request placed is remembered, so a redelivered ``PlaceCall`` registers the same call
    instead of dialling twice."""
    remembered = settings.channel(f"placed:{command.id}")
    sid = await redis.get(remembered)
    if sid is None:
        try:
            call = await telephony.place(
                to=command.to, from_=command.from_, answer_query={"scenario": command.scenario or ""}
            )
        except TwilioRestException as exc:
            refusal = Refusal(
                "BAD_REQUEST",
                400,
                f"Twilio refused the call: {exc.msg}",
                twilio_code=exc.code,
                field="to_number",
                value=command.to,
            )
            await publish_outcome(redis, settings, rejected(command, refusal))
            return
        sid = call.sid
        await redis.set(remembered, sid, ex=REMEMBER_S)
    sid = sid.decode() if isinstance(sid, bytes) else str(sid)
    register = RegisterOutboundCall.model_validate(
        {**command.model_dump(exclude={"type", "aggregate_id"}), "aggregate_id": sid}
    )
    await broker.publish(register.model_dump_json().encode(), Topics.of(settings).commands, key=sid.encode())
