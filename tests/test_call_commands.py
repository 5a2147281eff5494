"""LLM commands (tools and ``[[...]]`` markers) and supervisor controls on live calls (SPEC §3, §4)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from phony.config import Settings
from phony.events import EventEnvelope
from phony.sim.realtime import RealtimeSession, RealtimeSim
from phony.sim.twilio import TwilioSim
from phony.workers.calls.llm_commands import allowed_transfer, extract_markers
from phony.workers.calls.model_session import CONNECT_BACKOFF_S
from tests.call_events import projected_until
from tests.calls import LiveInbound, call_events, of_type, received, ring, session_of, wait_for_event
from tests.support import PhonyProcess, TenantHandle, eventually


async def held_reply(
    tenant: TenantHandle, twilio_sim: TwilioSim, phony: PhonyProcess, settings: Settings
) -> tuple[LiveInbound, EventEnvelope]:
    """A call of an agent in approval mode, once its first reply is held: the call and that
    ``response.pending_approval``."""
    live = await ring(
        tenant, twilio_sim, phony, "default", settings, require_approval=True, greeting_message=None
    )
    events = await wait_for_event(settings, live.call.sid, "response.pending_approval")
    [pending] = of_type(events, "response.pending_approval")
    return live, pending


TARGET = "+15557654321"


async def test_ai_transfer_inside_the_allowlist_dials_the_target(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    live = await ring(
        tenant,
        twilio_sim,
        phony,
        "transfer",
        settings,
        transfer_allowlist=["+1555765"],
        system_prompt="Transfer to +15557654321 when asked.",
    )
    events = await wait_for_event(settings, live.call.sid, "call.ended", within=60)
    [transferred] = of_type(events, "call.transferred")
    assert transferred.data == {"target": TARGET, "by": "ai"}
    assert of_type(events, "call.ended")[0].data["reason"] == "transferred"
    await twilio_sim.wait_for_call_end(live.call.sid, timeout=30)
    assert live.call.dialed == TARGET


async def test_ai_transfer_outside_the_allowlist_is_refused_and_the_model_told(
    tenant: TenantHandle,
    phony: PhonyProcess,
    twilio_sim: TwilioSim,
    model_sim: RealtimeSim,
    settings: Settings,
) -> None:
    live = await ring(tenant, twilio_sim, phony, "transfer", settings, transfer_allowlist=["+1999"])
    events = await wait_for_event(settings, live.call.sid, "command.executed", within=40)
    [refused, *_] = of_type(events, "command.executed")
    assert refused.data["command"] == "transfer"
    assert refused.data["accepted"] is False
    assert "allowlist" in refused.data["reason"]
    outputs = received(session_of(model_sim, live.caller), "conversation.item.create")
    assert any(
        o["item"]["type"] == "function_call_output" and '"ok": false' in o["item"]["output"] for o in outputs
    )
    assert not of_type(await call_events(settings, live.call.sid), "call.transferred")
    assert live.call.dialed is None
    await tenant.client.post("/override/end", json={"callSid": live.call.sid})
    await wait_for_event(settings, live.call.sid, "call.ended")


def test_markers_are_parsed_and_never_left_in_the_text() -> None:
    text, commands = extract_markers(
        "Sure, one moment. [[transfer:+15551234567]] [[press:12#]] Bye [[end_call]]"
    )
    assert text == "Sure, one moment. Bye"
    assert [(c.name, c.argument) for c in commands] == [
        ("transfer", "+15551234567"),
        ("press", "12#"),
        ("end_call", None),
    ]
    assert allowed_transfer("+15551234567", ["+1555"])
    assert not allowed_transfer("+15551234567", ["+1666"])
    assert not allowed_transfer("not-a-number", ["+"])


async def test_ai_presses_digits_and_the_call_goes_on(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    live = await ring(tenant, twilio_sim, phony, "digits", settings)
    events = await wait_for_event(settings, live.call.sid, "call.ended", within=60)
    [sent] = of_type(events, "dtmf.sent")
    assert sent.data == {"digits": "123#", "by": "ai"}
    assert live.call.digits_played == "123#"
    assert len(of_type(events, "media.started")) == 2  # the stream reconnects after the digits
    assert of_type(events, "call.ended")[0].data["reason"] == "ai_ended"


def replies_paused(session: RealtimeSession | None) -> bool:
    """Whether the model's session is set not to answer the caller's turns by itself."""
    audio = session.config.get("audio") if session else None
    detection = audio["input"]["turn_detection"] if isinstance(audio, dict) else None
    return isinstance(detection, dict) and detection.get("create_response") is False


async def asked_supervisor(
    tenant: TenantHandle,
    twilio_sim: TwilioSim,
    phony: PhonyProcess,
    model_sim: RealtimeSim,
    settings: Settings,
    scenario: str,
) -> tuple[LiveInbound, RealtimeSession | None]:
    """A call following ``scenario`` once the AI has asked its supervisor the scripted question and
    is paused (it still hears the caller, but answers no turn until the supervisor has): the call
    and its model session."""
    live = await ring(tenant, twilio_sim, phony, scenario, settings)
    events = await wait_for_event(settings, live.call.sid, "clarification.requested")
    assert of_type(events, "clarification.requested")[0].data["question"] == "What is the caller's balance?"
    session = session_of(model_sim, live.caller)
    assert await eventually(lambda: asyncio.sleep(0, replies_paused(session)), within=10)
    return live, session


async def test_request_user_asks_the_supervisor_and_resumes_with_the_answer(
    tenant: TenantHandle,
    phony: PhonyProcess,
    twilio_sim: TwilioSim,
    model_sim: RealtimeSim,
    settings: Settings,
) -> None:
    live, session = await asked_supervisor(tenant, twilio_sim, phony, model_sim, settings, "request_user")
    # A dashboard sees the question on the call (as projected) before it answers.
    call = await projected_until(tenant.client, live.call.sid, lambda c: c["open_question"] is not None)
    assert call["open_question"] == "What is the caller's balance?"
    r = await tenant.client.post(
        "/override/clarification", json={"callSid": live.call.sid, "response": "$42.10"}
    )
    assert r.json() == {"success": True, "message": "Clarification sent successfully"}
    events = await wait_for_event(settings, live.call.sid, "clarification.answered")
    assert of_type(events, "clarification.answered")[0].data["response"] == "$42.10"
    await projected_until(tenant.client, live.call.sid, lambda c: c["open_question"] is None)

    async def answered() -> bool:
        return any("$42.10" in str(o.get("item")) for o in received(session, "conversation.item.create"))

    assert await eventually(answered, within=10)
    assert not replies_paused(session)
    await tenant.client.post("/override/end", json={"callSid": live.call.sid})


async def test_a_request_user_marker_is_answered_to_the_model_not_read_to_the_caller(
    tenant: TenantHandle,
    phony: PhonyProcess,
    twilio_sim: TwilioSim,
    model_sim: RealtimeSim,
    settings: Settings,
) -> None:
    live, session = await asked_supervisor(
        tenant, twilio_sim, phony, model_sim, settings, "request_user_marker"
    )
    r = await tenant.client.post(
        "/override/clarification", json={"callSid": live.call.sid, "response": "$42.10"}
    )
    assert r.status_code == 200
    # The model is told, and goes on with its script: the call ends with its goodbye.
    events = await wait_for_event(settings, live.call.sid, "call.ended", within=60)
    told = [o["item"] for o in received(session, "conversation.item.create")]
    assert any(i.get("role") == "system" and "$42.10" in str(i.get("content")) for i in told)
    creates = [c for c in received(session, "response.create") if c.get("response")]
    assert not any("$42.10" in str(c["response"].get("instructions")) for c in creates)
    assert [e.data["text"] for e in of_type(events, "ai.response")][-1] == "Goodbye!"
    assert of_type(events, "call.ended")[0].data["reason"] == "ai_ended"


async def test_supervisor_text_is_spoken_verbatim(
    tenant: TenantHandle,
    phony: PhonyProcess,
    twilio_sim: TwilioSim,
    model_sim: RealtimeSim,
    settings: Settings,
) -> None:
    live = await ring(tenant, twilio_sim, phony, "hold", settings)
    text = "I'm going to transfer you to a human agent"
    r = await tenant.client.post("/override/text", json={"callSid": live.call.sid, "text": text})
    assert r.status_code == 200
    assert r.json() == {"success": True, "message": "Text sent successfully"}

    async def spoken() -> list[str]:
        return [e.data["text"] for e in of_type(await call_events(settings, live.call.sid), "ai.response")]

    assert text in await eventually(spoken, lambda texts: text in texts, within=20)
    events = await call_events(settings, live.call.sid)
    assert of_type(events, "supervisor.text_sent")[0].data["text"] == text
    creates = received(session_of(model_sim, live.caller), "response.create")
    assert any(f"«{text}»" in c["response"]["instructions"] for c in creates if c.get("response"))
    await tenant.client.post("/override/end", json={"callSid": live.call.sid})


async def test_supervisor_transfer_dtmf_and_end(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    live = await ring(tenant, twilio_sim, phony, "hold", settings)
    r = await tenant.client.post("/override/dtmf", json={"callSid": live.call.sid, "digits": "42"})
    assert r.status_code == 200
    await wait_for_event(settings, live.call.sid, "dtmf.sent")
    await eventually(lambda: asyncio.sleep(0, live.call.digits_played), lambda d: d == "42", within=10)
    second = await ring(tenant, twilio_sim, phony, "hold", settings)
    r = await tenant.client.post("/override/transfer", json={"callSid": second.call.sid, "target": TARGET})
    assert r.json() == {"success": True, "message": "Call transferred successfully"}
    await wait_for_event(settings, second.call.sid, "call.ended")
    transferred = await twilio_sim.wait_for_call_end(second.call.sid, timeout=30)
    assert transferred.dialed == TARGET
    events = await call_events(settings, second.call.sid)  # after Twilio's last status callback too
    assert of_type(events, "call.transferred")[0].data == {"target": TARGET, "by": "supervisor"}
    assert [e.data["reason"] for e in of_type(events, "call.ended")] == ["transferred"]
    r = await tenant.client.post("/override/end", json={"callSid": live.call.sid})
    assert r.status_code == 200
    await wait_for_event(settings, live.call.sid, "call.ended")
    await twilio_sim.wait_for_call_end(live.call.sid, timeout=20)
    events = await call_events(settings, live.call.sid)
    [ended] = of_type(events, "call.ended")
    assert ended.data["reason"] == "supervisor_ended"
    assert ended.data["duration"] > 0


@pytest.mark.parametrize(("override", "body"), [("transfer", {"target": TARGET}), ("dtmf", {"digits": "42"})])
async def test_a_transfer_or_digits_twilio_refuses_is_an_error_and_the_call_goes_on(
    override: str,
    body: dict[str, str],
    tenant: TenantHandle,
    phony: PhonyProcess,
    twilio_sim: TwilioSim,
    settings: Settings,
) -> None:
    live = await ring(tenant, twilio_sim, phony, "hold", settings)
    twilio_sim.fail_next_updates(live.call.sid)
    r = await tenant.client.post(f"/override/{override}", json={"callSid": live.call.sid, **body})
    assert r.status_code == 200
    events = await wait_for_event(settings, live.call.sid, "error.occurred")
    error = of_type(events, "error.occurred")[0].data
    assert error["code"] == "TELEPHONY_ERROR"
    assert "Twilio refused" in error["message"]
    assert not of_type(events, "call.ended")
    assert not of_type(events, "call.transferred")
    assert not of_type(events, "dtmf.sent")
    # The call's partition is not stuck on the refused command: the next one is carried out.
    text = "One moment, please."
    assert (
        await tenant.client.post("/override/text", json={"callSid": live.call.sid, "text": text})
    ).status_code == 200
    await wait_for_event(settings, live.call.sid, "supervisor.text_sent")
    assert twilio_sim.call(live.call.sid).status == "in-progress"
    await tenant.client.post("/override/end", json={"callSid": live.call.sid})
    events = await wait_for_event(settings, live.call.sid, "call.ended")
    assert [e.data["reason"] for e in of_type(events, "call.ended")] == ["supervisor_ended"]


@pytest.mark.parametrize(
    ("override", "body"),
    [
        ("text", {"text": "hi"}),
        ("transfer", {"target": TARGET}),
        ("dtmf", {"digits": "1"}),
        ("end", {}),
        ("clarification", {"response": "yes"}),
        ("approve", {"response_id": "resp_1"}),
    ],
)
async def test_every_override_of_an_unknown_call_is_404(
    override: str, body: dict[str, str], tenant: TenantHandle
) -> None:
    r = await tenant.client.post(f"/override/{override}", json={"callSid": "CAnope", **body})
    assert r.status_code == 404
    assert r.json()["error"] == {
        "code": "NOT_FOUND",
        "message": "call not found",
        "details": {"callSid": "CAnope"},
    }


async def test_overrides_on_unknown_ended_or_foreign_calls_are_404(
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    phony: PhonyProcess,
    twilio_sim: TwilioSim,
    settings: Settings,
) -> None:
    unknown = await tenant.client.post("/override/text", json={"callSid": "CAnope", "text": "hi"})
    assert unknown.status_code == 404
    live = await ring(tenant, twilio_sim, phony, "hold", settings)
    foreign = await other_tenant.client.post("/override/end", json={"callSid": live.call.sid})
    assert foreign.status_code == 404
    assert foreign.json()["error"]["code"] == "NOT_FOUND"
    await tenant.client.post("/override/end", json={"callSid": live.call.sid})
    await wait_for_event(settings, live.call.sid, "call.ended")

    async def status() -> int:
        return (
            await tenant.client.post("/override/text", json={"callSid": live.call.sid, "text": "late"})
        ).status_code

    assert await eventually(status, lambda s: s == 404, within=10) == 404
    bad = await tenant.client.post("/override/dtmf", json={"callSid": live.call.sid, "digits": "12x"})
    assert bad.status_code == 422


async def test_overrides_count_against_the_keys_calls_limit(
    admin: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    await admin.patch(f"/tenants/{tenant.id}", json={"limits": {"calls_per_minute": 2}})
    # The window is the calendar minute: start the burst where it cannot straddle a boundary.
    if 60 - time.time() % 60 < 3:
        await asyncio.sleep(60 - time.time() % 60 + 0.05)
    codes = [
        (await tenant.client.post("/override/text", json={"callSid": "CAnope", "text": "hi"})).status_code
        for _ in range(3)
    ]
    assert codes == [404, 404, 429]


async def test_approval_mode_holds_each_reply_until_approved(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    live, pending = await held_reply(tenant, twilio_sim, phony, settings)
    assert pending.data["text"] == "Sure. Your order shipped yesterday."
    events = await call_events(settings, live.call.sid)
    assert "Sure. Your order shipped yesterday." not in [
        e.data["text"] for e in of_type(events, "ai.response")
    ]
    # The caller hears the hold line meanwhile.

    async def spoken() -> list[str]:
        return [e.data["text"] for e in of_type(await call_events(settings, live.call.sid), "ai.response")]

    assert "One moment please." in await eventually(spoken, lambda t: "One moment please." in t, within=15)
    call = await projected_until(tenant.client, live.call.sid, lambda c: bool(c["awaiting_approval"]))
    assert call["awaiting_approval"] == [pending.data["response_id"]]
    r = await tenant.client.post(
        "/override/approve", json={"callSid": live.call.sid, "response_id": pending.data["response_id"]}
    )
    assert r.status_code == 200
    events = await wait_for_event(settings, live.call.sid, "response.approved")
    assert of_type(events, "response.approved")[0].data["response_id"] == pending.data["response_id"]
    assert "Sure. Your order shipped yesterday." in await spoken()

    # The goodbye carries end_call: the call ends only once that reply is approved too.
    async def pendings() -> list[str]:
        found = of_type(await call_events(settings, live.call.sid), "response.pending_approval")
        return [e.data["response_id"] for e in found]

    [_, goodbye] = await eventually(pendings, lambda p: len(p) == 2, within=30)
    assert not of_type(await call_events(settings, live.call.sid), "call.ended")
    await projected_until(tenant.client, live.call.sid, lambda c: c["awaiting_approval"] == [goodbye])
    await tenant.client.post("/override/approve", json={"callSid": live.call.sid, "response_id": goodbye})
    events = await wait_for_event(settings, live.call.sid, "call.ended")
    assert of_type(events, "call.ended")[0].data["reason"] == "ai_ended"


async def test_approving_with_new_words_speaks_those_instead_of_the_held_reply(
    tenant: TenantHandle,
    phony: PhonyProcess,
    twilio_sim: TwilioSim,
    model_sim: RealtimeSim,
    settings: Settings,
) -> None:
    live, pending = await held_reply(tenant, twilio_sim, phony, settings)
    await projected_until(tenant.client, live.call.sid, lambda c: bool(c["awaiting_approval"]))
    words = "Your order left our warehouse this morning."
    r = await tenant.client.post(
        "/override/approve",
        json={"callSid": live.call.sid, "response_id": pending.data["response_id"], "text": words},
    )
    assert r.status_code == 200

    async def spoken() -> list[str]:
        return [e.data["text"] for e in of_type(await call_events(settings, live.call.sid), "ai.response")]

    said = await eventually(spoken, lambda texts: words in texts, within=20)
    assert pending.data["text"] not in said
    [approved] = of_type(await call_events(settings, live.call.sid), "response.approved")
    assert approved.data == {"response_id": pending.data["response_id"], "text": words}
    creates = received(session_of(model_sim, live.caller), "response.create")
    assert any(f"«{words}»" in c["response"]["instructions"] for c in creates if c.get("response"))
    await tenant.client.post("/override/end", json={"callSid": live.call.sid})


async def test_a_key_the_caller_presses_is_recorded(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    live = await ring(tenant, twilio_sim, phony, "hold", settings)
    await twilio_sim.press_digits(live.call.sid, "5#")
    events = await eventually(
        lambda: call_events(settings, live.call.sid), lambda got: len(of_type(got, "dtmf.received")) == 2
    )
    assert [e.data["digit"] for e in of_type(events, "dtmf.received")] == ["5", "#"]
    await tenant.client.post("/override/end", json={"callSid": live.call.sid})


async def test_model_error_mid_call_ends_the_call_cleanly(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    live = await ring(tenant, twilio_sim, phony, "model_error", settings)
    events = await wait_for_event(settings, live.call.sid, "call.ended", within=60)
    errors = of_type(events, "error.occurred")
    assert any(e.data["code"] == "MODEL_UNAVAILABLE" for e in errors)
    [ended] = of_type(events, "call.ended")
    assert ended.data["reason"] == "model_error"
    await twilio_sim.wait_for_call_end(live.call.sid, timeout=20)


async def test_a_busy_model_server_is_tried_again_and_the_call_goes_on(
    tenant: TenantHandle,
    phony: PhonyProcess,
    twilio_sim: TwilioSim,
    model_sim: RealtimeSim,
    settings: Settings,
) -> None:
    refused = model_sim.refused
    model_sim.refuse_next(2)  # 503 twice: the third attempt gets through
    live = await ring(tenant, twilio_sim, phony, "default", settings)
    events = await wait_for_event(settings, live.call.sid, "call.ended", within=60)
    assert model_sim.refused == refused + 2
    assert not of_type(events, "error.occurred")
    assert of_type(events, "call.ended")[0].data["reason"] == "ai_ended"


async def test_a_call_that_ends_while_its_model_connects_stops_connecting_and_records_nothing_after(
    tenant: TenantHandle,
    phony: PhonyProcess,
    twilio_sim: TwilioSim,
    model_sim: RealtimeSim,
    settings: Settings,
) -> None:
    model_sim.refuse_next(2)  # the third connect would get through, 1.5 s after the stream starts
    try:
        live = await ring(tenant, twilio_sim, phony, "hold", settings)
        twilio_sim.hang_up(live.call.sid)  # meanwhile the caller hangs up
        await wait_for_event(settings, live.call.sid, "call.ended")
        # Nothing to wait for but the time the retries would take: no session, no event may follow.
        await asyncio.sleep(4 * CONNECT_BACKOFF_S)
    finally:
        model_sim.stop_refusing()
    assert session_of(model_sim, live.caller) is None
    events = await call_events(settings, live.call.sid)
    assert events[-1].type == "call.ended"
    assert not of_type(events, "error.occurred")


async def test_a_model_server_busy_past_the_attempts_ends_the_call_cleanly(
    tenant: TenantHandle,
    phony: PhonyProcess,
    twilio_sim: TwilioSim,
    model_sim: RealtimeSim,
    settings: Settings,
) -> None:
    model_sim.refuse_next(settings.model_connect_attempts)
    live = await ring(tenant, twilio_sim, phony, "hold", settings)
    events = await wait_for_event(settings, live.call.sid, "call.ended", within=60)
    assert [e.data["code"] for e in of_type(events, "error.occurred")] == ["MODEL_UNAVAILABLE"]
    assert of_type(events, "call.ended")[0].data["reason"] == "model_error"
    await twilio_sim.wait_for_call_end(live.call.sid, timeout=20)


async def test_supervisor_endpoints_need_a_key(phony: PhonyProcess) -> None:
    async with httpx.AsyncClient(base_url=phony.url) as anonymous:
        r = await anonymous.post("/override/text", json={"callSid": "CA1", "text": "hi"})
    assert r.status_code == 401


async def test_seed_markers_in_the_models_words_are_executed_and_never_shown(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    live = await ring(tenant, twilio_sim, phony, "markers", settings)
    events = await wait_for_event(settings, live.call.sid, "call.ended", within=60)
    texts = [e.data["text"] for e in of_type(events, "ai.response")]
    assert "Sure." in texts
    assert "Goodbye!" in texts
    assert not any("[[" in t for t in texts)
    executed = [
        (e.data["command"], e.data["argument"], e.data["source"]) for e in of_type(events, "command.executed")
    ]
    assert executed == [("press", "5", "marker"), ("end_call", None, "marker")]
    assert live.call.digits_played == "5"
    assert of_type(events, "call.ended")[0].data["reason"] == "ai_ended"


async def test_approving_a_reply_that_is_not_held_is_a_conflict(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    live, pending = await held_reply(tenant, twilio_sim, phony, settings)
    await projected_until(tenant.client, live.call.sid, lambda c: bool(c["awaiting_approval"]))
    r = await tenant.client.post(
        "/override/approve", json={"callSid": live.call.sid, "response_id": "resp_not_held"}
    )
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "CONFLICT"
    assert error["details"]["awaiting_approval"] == [pending.data["response_id"]]
    # Nothing reached the call: the held reply still waits.
    assert not of_type(await call_events(settings, live.call.sid), "response.approved")
    await tenant.client.post("/override/end", json={"callSid": live.call.sid})


async def test_a_clarification_nobody_asked_for_is_a_conflict(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    live = await ring(tenant, twilio_sim, phony, "hold", settings)
    await projected_until(tenant.client, live.call.sid, lambda c: c["status"] == "in-progress")
    r = await tenant.client.post(
        "/override/clarification", json={"callSid": live.call.sid, "response": "$42.10"}
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "CONFLICT"
    assert not of_type(await call_events(settings, live.call.sid), "clarification.answered")
    await tenant.client.post("/override/end", json={"callSid": live.call.sid})
