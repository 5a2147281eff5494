"""Calls end to end (SPEC §4), through the real servers, the simulated Twilio (REST, webhooks, media
stream, the other party) and the simulated OpenAI Realtime model."""

from __future__ import annotations

import math

from phony import recordings
from phony.config import Settings
from phony.events import EventEnvelope
from phony.sim.realtime import RealtimeSim
from phony.sim.realtime.events import WORD_LOGPROB
from phony.sim.twilio import BUSY_NUMBER, FAILED_NUMBER, INVALID_NUMBER, NO_ANSWER_NUMBER, TwilioSim
from tests.calls import (
    LiveInbound,
    call_events,
    decode_wav,
    of_type,
    received,
    recorded,
    ring,
    session_of,
    wait_for_event,
)
from tests.support import PhonyProcess, TenantHandle, agent_body, eventually, unique_number


async def test_inbound_call_is_answered_by_the_agent_and_ended_by_the_ai(
    tenant: TenantHandle,
    phony: PhonyProcess,
    twilio_sim: TwilioSim,
    model_sim: RealtimeSim,
    settings: Settings,
) -> None:
    live = await ring(tenant, twilio_sim, phony, "default", settings)
    await twilio_sim.wait_for_call_end(live.call.sid, timeout=60)
    events = await wait_for_event(settings, live.call.sid, "call.ended")
    assert events[0].type == "call.started"
    assert events[0].data["agent_id"] == live.agent["id"]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    [ended] = of_type(events, "call.ended")
    assert ended.data["reason"] == "ai_ended"
    assert ended.data["duration"] > 0
    assert [e.data["text"] for e in of_type(events, "speech.detected")] == [
        "Hi, I'd like to check my order status.",
        "Great, thanks, that's all.",
    ]
    # The transcriber's confidence, from the log probabilities of its words (the sim's: e^-0.05 each).
    assert {(e.data["speaker"], e.data["confidence"]) for e in of_type(events, "speech.detected")} == {
        ("caller", round(math.exp(WORD_LOGPROB), 3))
    }
    assert {e.data["model"] for e in of_type(events, "ai.response")} == {live.agent["model"]}
    replies = [e.data["text"] for e in of_type(events, "ai.response")]
    assert replies == [
        live.agent["greeting_message"],
        "Sure. Your order shipped yesterday.",
        "You're welcome, goodbye!",
    ]
    assert all(
        e.data["audio_url"].endswith(f"/responses/{e.data['response_id']}/audio")
        for e in of_type(events, "ai.response")
    )
    assert of_type(events, "command.executed")[0].data["command"] == "end_call"


async def test_the_model_session_is_set_from_the_agent(
    tenant: TenantHandle,
    phony: PhonyProcess,
    twilio_sim: TwilioSim,
    model_sim: RealtimeSim,
    settings: Settings,
) -> None:
    live = await ring(
        tenant,
        twilio_sim,
        phony,
        "hold",
        settings,
        voice="sage",
        max_tokens=200,
        supported_languages=["es"],
        system_prompt="Eres un asistente.",
    )
    session = session_of(model_sim, live.caller)
    assert session is not None
    [update] = received(session, "session.update")
    config = update["session"]
    assert config["instructions"].startswith("Eres un asistente.")
    assert f"You greet the caller with: {live.agent['greeting_message']}" in config["instructions"]
    assert f"- from: {live.caller}" in config["instructions"]
    assert config["model"] == live.agent["model"]
    assert config["include"] == ["item.input_audio_transcription.logprobs"]
    assert "Speak es." in config["instructions"]
    assert config["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert config["audio"]["output"] == {"format": {"type": "audio/pcmu"}, "voice": "sage"}
    assert config["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    assert config["audio"]["input"]["transcription"]["language"] == "es"
    assert config["max_output_tokens"] == 200
    assert {t["name"] for t in config["tools"]} == {
        "end_call",
        "transfer_call",
        "press_digits",
        "request_user",
    }
    twilio_sim.hang_up(live.call.sid)
    await wait_for_event(settings, live.call.sid, "call.ended")


async def test_caller_hanging_up_ends_the_call_once(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    live = await ring(tenant, twilio_sim, phony, "hold", settings)
    twilio_sim.hang_up(live.call.sid)
    events = await wait_for_event(settings, live.call.sid, "call.ended")
    await twilio_sim.wait_for_call_end(live.call.sid, timeout=30)
    events = await call_events(settings, live.call.sid)
    [ended] = of_type(events, "call.ended")
    assert ended.data["reason"] == "caller_hangup"


async def test_unknown_number_gets_a_polite_goodbye_and_an_error_event(
    phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    call = await twilio_sim.place_inbound_call("+15550002222", unique_number(), phony.url)
    await twilio_sim.wait_for_call_end(call.sid, timeout=30)
    assert call.said == ["Sorry, this number is not in service. Goodbye."]
    assert not call.streams
    events = await wait_for_event(settings, call.sid, "call.ended")
    assert [e.type for e in events] == ["call.started", "error.occurred", "call.ended"]
    assert events[1].data["code"] == "NO_AGENT"
    assert events[2].data["reason"] == "no_agent"


async def test_outbound_call_is_placed_through_twilio_and_reported_by_status_callbacks(
    tenant: TenantHandle, twilio_sim: TwilioSim, settings: Settings
) -> None:
    number = unique_number()
    agent = (await tenant.client.post("/agents/", json=agent_body(phone_numbers=[number]))).json()
    callee = unique_number()
    r = await tenant.client.post(
        "/calls/",
        json={
            "agent_id": agent["id"],
            "to_number": callee,
            "scenario": "default",
            "metadata": {"order": "42"},
        },
    )
    assert r.status_code == 202, r.text
    sid = r.json()["call_sid"]
    assert sid.startswith("CA")
    assert r.json()["status"] == "queued"
    sim_call = twilio_sim.call(sid)
    assert (sim_call.to, sim_call.from_) == (callee, number)
    await twilio_sim.wait_for_call_end(sid, timeout=60)
    events = await wait_for_event(settings, sid, "call.ended")
    types = [e.type for e in events]
    assert types[:3] == ["call.started", "call.ringing", "call.answered"]
    assert events[0].data["direction"] == "outbound"
    assert events[0].data["metadata"] == {"order": "42"}
    [ended] = of_type(events, "call.ended")
    assert ended.data["reason"] == "ai_ended"


async def test_outbound_busy_no_answer_and_failed_end_with_their_reason(
    tenant: TenantHandle, twilio_sim: TwilioSim, settings: Settings
) -> None:
    agent = (await tenant.client.post("/agents/", json=agent_body(phone_numbers=[unique_number()]))).json()
    sids = {}
    for number, reason in ((BUSY_NUMBER, "busy"), (NO_ANSWER_NUMBER, "no_answer"), (FAILED_NUMBER, "failed")):
        r = await tenant.client.post("/calls/", json={"agent_id": agent["id"], "to_number": number})
        assert r.status_code == 202, r.text
        sids[reason] = r.json()["call_sid"]
    for reason, sid in sids.items():
        events = await wait_for_event(settings, sid, "call.ended")
        [ended] = of_type(events, "call.ended")
        assert ended.data["reason"] == reason
        assert ended.data["duration"] == 0


async def test_outbound_call_twilio_refuses_is_a_400(tenant: TenantHandle) -> None:
    agent = (await tenant.client.post("/agents/", json=agent_body(phone_numbers=[unique_number()]))).json()
    r = await tenant.client.post("/calls/", json={"agent_id": agent["id"], "to_number": INVALID_NUMBER})
    assert r.status_code == 400
    assert r.json()["error"]["details"]["twilio_code"] == 21217


async def test_outbound_call_needs_a_known_active_agent(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    agent = (await tenant.client.post("/agents/", json=agent_body(phone_numbers=[unique_number()]))).json()
    assert (
        await other_tenant.client.post(
            "/calls/", json={"agent_id": agent["id"], "to_number": unique_number()}
        )
    ).status_code == 404
    await tenant.client.patch(f"/agents/{agent['id']}", json={"is_active": False})
    r = await tenant.client.post("/calls/", json={"agent_id": agent["id"], "to_number": unique_number()})
    assert r.status_code == 409
    bad = await tenant.client.post("/calls/", json={"agent_id": agent["id"], "to_number": "12345"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["field"] == "to_number"


async def test_barge_in_clears_twilio_and_truncates_the_model_at_the_played_position(
    tenant: TenantHandle,
    phony: PhonyProcess,
    twilio_sim: TwilioSim,
    model_sim: RealtimeSim,
    settings: Settings,
) -> None:
    live = await ring(tenant, twilio_sim, phony, "barge_in", settings)
    await twilio_sim.wait_for_call_end(live.call.sid, timeout=60)
    events = await wait_for_event(settings, live.call.sid, "call.ended")
    assert sum(s.clears_received for s in live.call.streams) >= 1
    [truncate, *_] = received(session_of(model_sim, live.caller), "conversation.item.truncate")
    assert truncate["content_index"] == 0
    assert 0 < truncate["audio_end_ms"] < 10_000
    [interrupted] = of_type(events, "response.interrupted")
    assert interrupted.data["played_ms"] == truncate["audio_end_ms"]
    long_answer = next(e for e in of_type(events, "ai.response") if e.data["text"].startswith("We are open"))
    assert interrupted.data["response_id"] == long_answer.data["response_id"]
    assert interrupted.data["played_ms"] < long_answer.data["audio_ms"]


async def test_latency_from_caller_silence_to_first_model_audio_is_recorded(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    live = await ring(tenant, twilio_sim, phony, "default", settings)
    events = await wait_for_event(settings, live.call.sid, "call.ended", within=60)
    latencies = of_type(events, "latency.measured")
    assert latencies
    assert all(e.data["metric"] == "turn_latency_ms" and 0 < e.data["ms"] < 5000 for e in latencies)


def caller_bytes(segments: list[recordings.AudioSegment]) -> int:
    return sum(len(s.audio) for s in segments if s.track == "caller")


async def recorded_call(
    tenant: TenantHandle, twilio_sim: TwilioSim, phony: PhonyProcess, settings: Settings, within: float = 40
) -> tuple[LiveInbound, list[EventEnvelope], list[recordings.AudioSegment], int]:
    """A ``default`` call, once it has ended and its recording holds at least 95% of the caller's
    audio (frames the party sent after the AI hung up may be cut off; all the rest is kept): the
    call, its events, its stored segments and how many bytes of audio the party sent."""
    live = await ring(tenant, twilio_sim, phony, "default", settings)
    call = await twilio_sim.wait_for_call_end(live.call.sid, timeout=60)
    events = await wait_for_event(settings, live.call.sid, "call.ended", within=within)
    sent = 160 * sum(stream.frames_sent for stream in call.streams)
    segments = await eventually(
        lambda: recorded(settings, live.call.sid), lambda got: caller_bytes(got) >= 0.95 * sent
    )
    return live, events, segments, sent


async def test_a_calls_recording_holds_all_the_caller_said_and_every_reply(
    tenant: TenantHandle, phony: PhonyProcess, twilio_sim: TwilioSim, settings: Settings
) -> None:
    live, events, segments, sent = await recorded_call(tenant, twilio_sim, phony, settings)
    assert caller_bytes(segments) <= sent
    replies = {s.response_id: s for s in segments if s.track == "ai"}
    assert set(replies) == {e.data["response_id"] for e in of_type(events, "ai.response")}
    assert all(len(s.audio) > 0 for s in replies.values())
    r = await tenant.client.get(f"/calls/{live.call.sid}/recording")
    assert (r.status_code, r.headers["content-type"]) == (200, "audio/wav")
    channels, rate, (caller, ai) = decode_wav(r.content)
    assert (channels, rate) == (2, 8000)
    assert len(caller) >= caller_bytes(segments)
    assert any(abs(sample) > 1000 for sample in caller)  # the party's speech, not just line noise
    assert any(abs(sample) > 1000 for sample in ai)


async def test_caller_audio_from_before_the_model_answers_is_recorded(
    tenant: TenantHandle,
    phony: PhonyProcess,
    twilio_sim: TwilioSim,
    model_sim: RealtimeSim,
    settings: Settings,
) -> None:
    model_sim.refuse_next(2)  # the model session opens after two busy answers, over a second late
    _, _, segments, _ = await recorded_call(tenant, twilio_sim, phony, settings, within=60)
    first = min(s.start_ms for s in segments if s.track == "caller")
    assert first <= 100
