"""The fake OpenAI Realtime server, driven through the real ``openai`` realtime client.

Every server event a test receives is validated against the ``openai`` package's own
``RealtimeServerEvent`` union (and checked for fields the SDK's models do not declare) when the
connection ends, so each test also checks protocol fidelity.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

import pytest
from openai import AsyncOpenAI, BaseModel
from openai.resources.realtime.realtime import AsyncRealtimeConnection
from openai.types.realtime import (
    ConversationItemParam,
    RealtimeServerEvent,
    RealtimeSessionCreateRequestParam,
)
from pydantic import TypeAdapter
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from phony.sim.audio import FRAME_BYTES, frames, silence, speech
from phony.sim.realtime import RealtimeObservation, RealtimeSim
from phony.sim.scenarios import SCENARIOS, speech_ms

API_KEY = "sk-test-realtime-sim"
WAIT_S = 10.0
SILENCE_MS = 500  # the turn detection's silence_duration_ms in these tests
PAUSE_MS = 400  # the caller's silence before each line
GREETING = "Thanks for calling Acme, how can I help?"
SERVER_EVENT: TypeAdapter[Any] = TypeAdapter(RealtimeServerEvent)
# The session object the API sends carries these besides the fields of the SDK's session model
# (see the API reference's session.created example).
UNDECLARED_BUT_DOCUMENTED = {"session.object", "session.id", "session.expires_at"}

TOOLS = [
    {
        "type": "function",
        "name": name,
        "description": name,
        "parameters": {"type": "object", "properties": props},
    }
    for name, props in (
        ("end_call", {}),
        ("transfer_call", {"target": {"type": "string"}}),
        ("press_digits", {"digits": {"type": "string"}}),
        ("request_user", {"question": {"type": "string"}}),
    )
]


def undeclared_fields(model: object, path: str = "") -> list[str]:
    """Dotted paths of the fields a validated SDK model holds without declaring them."""
    found: list[str] = []
    if isinstance(model, BaseModel):
        found += [f"{path}.{k}".lstrip(".") for k in model.model_extra or {}]
        for name in type(model).model_fields:
            found += undeclared_fields(getattr(model, name), f"{path}.{name}".lstrip("."))
    elif isinstance(model, list):
        for element in model:
            found += undeclared_fields(element, path)
    return found


def assert_valid_server_event(event: dict[str, Any]) -> None:
    """The event parses as the SDK's server event of its type, with no field the SDK doesn't know."""
    model = SERVER_EVENT.validate_python(event)
    assert model.type == event["type"]
    extra = set(undeclared_fields(model)) - UNDECLARED_BUT_DOCUMENTED
    assert not extra, f"{event['type']} carries undeclared fields {sorted(extra)}"


class EventLog:
    """Every server event of one connection, read in the background, awaitable by type."""

    def __init__(self, conn: AsyncRealtimeConnection) -> None:
        self.events: list[dict[str, Any]] = []
        self.closed: ConnectionClosed | None = None
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._pump(conn))

    async def _pump(self, conn: AsyncRealtimeConnection) -> None:
        try:
            while True:
                self.events.append(json.loads(await conn.recv_bytes()))
                self._changed.set()
        except ConnectionClosed as exc:
            self.closed = exc
            self._changed.set()

    def mark(self) -> int:
        """Position after the events received so far (for waiting on later ones)."""
        return len(self.events)

    def of_type(self, type_: str, after: int = 0) -> list[dict[str, Any]]:
        """The events of that type received after position ``after``."""
        return [e for e in self.events[after:] if e["type"] == type_]

    async def wait_for(
        self, type_: str, after: int = 0, where: Callable[[dict[str, Any]], bool] = lambda e: True
    ) -> dict[str, Any]:
        """The first event of that type after ``after`` matching ``where``, waiting for it if need be."""

        async def find() -> dict[str, Any]:
            while True:
                for event in self.events[after:]:
                    if event["type"] == type_ and where(event):
                        return event
                if self.closed is not None:
                    raise AssertionError(f"connection closed before {type_}: {self.closed}")
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(find(), WAIT_S)

    async def wait_closed(self) -> ConnectionClosed:
        """The close of the connection by the server."""

        async def closed() -> ConnectionClosed:
            while self.closed is None:
                self._changed.clear()
                await self._changed.wait()
            return self.closed

        return await asyncio.wait_for(closed(), WAIT_S)

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def phone_session(scenario: str, **turn_detection: Any) -> dict[str, Any]:
    """A session.update body like a telephony bridge sends: μ-law both ways, server VAD, tools."""
    return {
        "type": "realtime",
        "model": "gpt-realtime",
        "instructions": (
            "You answer the phone for Acme.\n\nCall metadata:\n"
            f"- scenario: {scenario}\n- transfer_target: +15550001111\n"
        ),
        "output_modalities": ["audio"],
        "max_output_tokens": 4096,
        "include": ["item.input_audio_transcription.logprobs"],
        "tools": TOOLS,
        "audio": {
            "input": {
                "format": {"type": "audio/pcmu"},
                "transcription": {"model": "gpt-4o-mini-transcribe"},
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": SILENCE_MS,
                    **turn_detection,
                },
            },
            "output": {"format": {"type": "audio/pcmu"}, "voice": "alloy"},
        },
    }


class Call:
    """One client connection: the SDK connection and its event log."""

    def __init__(self, conn: AsyncRealtimeConnection, log: EventLog) -> None:
        self.conn = conn
        self.log = log

    async def configure(self, scenario: str, **turn_detection: Any) -> dict[str, Any]:
        mark = self.log.mark()
        session = cast(RealtimeSessionCreateRequestParam, phone_session(scenario, **turn_detection))
        await self.conn.session.update(session=session)
        return await self.log.wait_for("session.updated", mark)

    async def append(self, audio: bytes) -> None:
        """Append audio in 20 ms frames (faster than real time, as a buffered bridge may)."""
        for frame in frames(audio):
            await self.conn.input_audio_buffer.append(audio=base64.b64encode(frame).decode())

    async def say(self, text: str) -> None:
        """The caller's pause, the line as speech, then silence long enough to end the turn."""
        await self.append(silence(PAUSE_MS) + speech(speech_ms(text)) + silence(SILENCE_MS + 200))

    async def restore(self, *turns: tuple[str, str]) -> None:
        """Put past ``(role, text)`` turns in the conversation as a worker taking the call over does."""
        for role, text in turns:
            part = {"type": "output_text" if role == "assistant" else "input_text", "text": text}
            item = {"type": "message", "role": role, "content": [part]}
            mark = self.log.mark()
            await self.conn.conversation.item.create(item=cast(ConversationItemParam, item))
            await self.log.wait_for("conversation.item.done", mark)

    async def respond(self, instructions: str | None = None) -> dict[str, Any]:
        """response.create; returns its response.done."""
        mark = self.log.mark()
        if instructions is None:
            await self.conn.response.create()
        else:
            await self.conn.response.create(response={"instructions": instructions})
        return await self.log.wait_for("response.done", mark)


@asynccontextmanager
async def realtime(sim: RealtimeSim, api_key: str = API_KEY) -> AsyncIterator[Call]:
    """A connection through the real client; on exit, every event received must validate."""
    client = AsyncOpenAI(api_key=api_key, base_url=sim.base_url, websocket_base_url=sim.websocket_base_url)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        log = EventLog(conn)
        try:
            yield Call(conn, log)
        finally:
            await log.stop()
    await client.close()
    for event in log.events:
        assert_valid_server_event(event)


@pytest.fixture
async def sim() -> AsyncIterator[RealtimeSim]:
    """A quick model: 10 ms to first audio, audio streamed at 50x real time."""
    async with RealtimeSim(api_key=API_KEY, response_delay_ms=10, stream_speed=50.0) as running:
        yield running


@pytest.fixture
async def slow_sim() -> AsyncIterator[RealtimeSim]:
    """A model that streams in real time, so responses stay active long enough to interrupt."""
    async with RealtimeSim(api_key=API_KEY, response_delay_ms=50, stream_speed=1.0) as running:
        yield running


def audio_of(log: EventLog, response_id: str) -> bytes:
    deltas = [e for e in log.of_type("response.output_audio.delta") if e["response_id"] == response_id]
    return b"".join(base64.b64decode(e["delta"]) for e in deltas)


def function_calls(done: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in done["response"]["output"] if item["type"] == "function_call"]


async def test_real_client_connects_and_gets_session_created(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        created = await call.log.wait_for("session.created")
    assert created["session"]["model"] == "gpt-realtime"
    assert created["session"]["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert [s.id for s in sim.sessions] == [created["session"]["id"]]


async def test_session_update_is_echoed_and_kept(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        updated = await call.configure("default")
    session = updated["session"]
    assert session["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert session["audio"]["input"]["turn_detection"]["silence_duration_ms"] == SILENCE_MS
    assert session["audio"]["input"]["turn_detection"]["create_response"] is True
    assert session["audio"]["output"]["voice"] == "alloy"
    assert [t["name"] for t in session["tools"]] == [
        "end_call",
        "transfer_call",
        "press_digits",
        "request_user",
    ]
    assert sim.sessions[0].config == session
    assert sim.sessions[0].received[0]["type"] == "session.update"


async def test_beta_session_field_is_refused_as_unknown_parameter(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        beta_shaped = {"type": "session.update", "session": {"type": "realtime", "temperature": 0.8}}
        await call.conn.send_raw(json.dumps(beta_shaped))
        error = await call.log.wait_for("error")
    assert error["error"]["code"] == "unknown_parameter"
    assert error["error"]["param"] == "session.temperature"


async def test_caller_turn_is_detected_from_audio_energy(sim: RealtimeSim) -> None:
    line = SCENARIOS["default"].turns[0].caller
    async with realtime(sim) as call:
        await call.configure("default")
        await call.say(line)
        started = await call.log.wait_for("input_audio_buffer.speech_started")
        stopped = await call.log.wait_for("input_audio_buffer.speech_stopped")
        committed = await call.log.wait_for("input_audio_buffer.committed")
    assert started["audio_start_ms"] == PAUSE_MS - 300  # prefix padding included
    assert stopped["audio_end_ms"] == PAUSE_MS + speech_ms(line) + SILENCE_MS
    assert started["item_id"] == stopped["item_id"] == committed["item_id"]


async def test_caller_turn_is_transcribed_as_the_scripts_caller_line(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        await call.configure("default")
        await call.say("anything")
        committed = await call.log.wait_for("input_audio_buffer.committed")
        done = await call.log.wait_for("conversation.item.input_audio_transcription.completed")
    assert done["item_id"] == committed["item_id"]
    assert done["transcript"] == SCENARIOS["default"].turns[0].caller
    assert sim.sessions[0].items[0]["content"][0]["transcript"] == done["transcript"]


async def test_caller_turn_is_answered_with_the_scripted_line_as_audio(sim: RealtimeSim) -> None:
    turn = SCENARIOS["default"].turns[0]
    async with realtime(sim) as call:
        await call.configure("default")
        await call.say(turn.caller)
        done = await call.log.wait_for("response.done")
        transcript = await call.log.wait_for("response.output_audio_transcript.done")
        deltas = "".join(e["delta"] for e in call.log.of_type("response.output_audio_transcript.delta"))
        audio = audio_of(call.log, done["response"]["id"])
    assert done["response"]["status"] == "completed"
    assert transcript["transcript"] == deltas == turn.ai
    assert len(audio) == len(speech(speech_ms(turn.ai)))
    assert function_calls(done) == []


async def test_second_default_turn_ends_with_an_end_call_function_call(sim: RealtimeSim) -> None:
    first, second = SCENARIOS["default"].turns
    async with realtime(sim) as call:
        await call.configure("default")
        await call.say(first.caller)
        await call.log.wait_for("response.done")
        mark = call.log.mark()
        await call.say(second.caller)
        transcribed = await call.log.wait_for("conversation.item.input_audio_transcription.completed", mark)
        done = await call.log.wait_for("response.done", mark)
        arguments = await call.log.wait_for("response.function_call_arguments.done", mark)
    assert transcribed["transcript"] == second.caller
    assert done["response"]["output"][0]["content"][0]["transcript"] == second.ai
    assert [(c["name"], c["arguments"]) for c in function_calls(done)] == [("end_call", "{}")]
    assert arguments["call_id"] == function_calls(done)[0]["call_id"]


async def test_tool_arguments_are_filled_from_call_metadata(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        await call.configure("transfer")
        await call.say(SCENARIOS["transfer"].turns[0].caller)
        done = await call.log.wait_for("response.done")
    [transfer] = function_calls(done)
    assert transfer["name"] == "transfer_call"
    assert json.loads(transfer["arguments"]) == {"target": "+15550001111"}


async def test_response_create_with_guillemets_speaks_the_text_verbatim(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        await call.configure("default")
        done = await call.respond(f"Greet the caller with exactly these words: «{GREETING}»")
        audio = audio_of(call.log, done["response"]["id"])
    assert done["response"]["output"][0]["content"][0]["transcript"] == GREETING
    assert len(audio) == len(speech(speech_ms(GREETING)))
    assert function_calls(done) == []


async def test_text_only_response_streams_output_text(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        await call.configure("default")
        await call.conn.response.create(
            response={"output_modalities": ["text"], "instructions": f"«{GREETING}»"}
        )
        done = await call.log.wait_for("response.done")
        text_done = await call.log.wait_for("response.output_text.done")
    deltas = "".join(e["delta"] for e in call.log.of_type("response.output_text.delta"))
    assert text_done["text"] == deltas == GREETING
    assert done["response"]["output"][0]["content"] == [{"type": "output_text", "text": GREETING}]
    assert call.log.of_type("response.output_audio.delta") == []


async def test_session_left_at_default_format_gets_24khz_pcm16_audio(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        done = await call.respond(f"«{GREETING}»")
    mulaw = speech(speech_ms(GREETING))
    assert len(audio_of(call.log, done["response"]["id"])) == len(mulaw) * 3 * 2


async def test_tool_result_then_response_create_answers_the_next_scripted_line(sim: RealtimeSim) -> None:
    first, second = SCENARIOS["request_user"].turns
    async with realtime(sim) as call:
        await call.configure("request_user")
        await call.say(first.caller)
        [request] = function_calls(await call.log.wait_for("response.done"))
        await call.conn.conversation.item.create(
            item={"type": "function_call_output", "call_id": request["call_id"], "output": "It is $42."}
        )
        done = await call.respond()
    assert request["name"] == "request_user"
    assert done["response"]["output"][0]["content"][0]["transcript"] == second.ai


async def test_caller_turn_after_a_restored_conversation_is_the_next_scripted_line(sim: RealtimeSim) -> None:
    first, second = SCENARIOS["default"].turns
    async with realtime(sim) as call:
        await call.configure("default")
        # The greeting, said verbatim, answers no turn of the script.
        await call.restore(("assistant", GREETING), ("user", first.caller), ("assistant", first.ai))
        await call.say(second.caller)
        transcribed = await call.log.wait_for("conversation.item.input_audio_transcription.completed")
        done = await call.log.wait_for("response.done")
    assert transcribed["transcript"] == second.caller
    assert done["response"]["output"][0]["content"][0]["transcript"] == second.ai
    assert [c["name"] for c in function_calls(done)] == ["end_call"]


async def test_response_create_after_a_restored_unanswered_caller_turn_answers_it(sim: RealtimeSim) -> None:
    first, second = SCENARIOS["default"].turns
    async with realtime(sim) as call:
        await call.configure("default")
        await call.restore(
            ("assistant", GREETING), ("user", first.caller), ("assistant", first.ai), ("user", second.caller)
        )
        done = await call.respond()
    assert done["response"]["output"][0]["content"][0]["transcript"] == second.ai
    assert [c["name"] for c in function_calls(done)] == ["end_call"]


async def test_restored_supervisor_note_counts_as_no_caller_turn(sim: RealtimeSim) -> None:
    first, second = SCENARIOS["request_user_marker"].turns
    async with realtime(sim) as call:
        await call.configure("request_user_marker")
        await call.restore(("user", first.caller), ("assistant", first.ai), ("system", "It is $42."))
        await call.say(second.caller)
        transcribed = await call.log.wait_for("conversation.item.input_audio_transcription.completed")
    assert transcribed["transcript"] == second.caller


async def test_truncate_cuts_an_assistant_items_audio(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        await call.configure("default")
        done = await call.respond(f"«{GREETING}»")
        item_id = done["response"]["output"][0]["id"]
        await call.conn.conversation.item.truncate(item_id=item_id, content_index=0, audio_end_ms=300)
        truncated = await call.log.wait_for("conversation.item.truncated")
    assert (truncated["item_id"], truncated["audio_end_ms"]) == (item_id, 300)
    assert sim.sessions[0].conversation.audio_ms(item_id) == 300


async def test_truncate_beyond_the_items_audio_is_refused(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        await call.configure("default")
        done = await call.respond(f"«{GREETING}»")
        item_id = done["response"]["output"][0]["id"]
        await call.conn.conversation.item.truncate(item_id=item_id, content_index=0, audio_end_ms=60_000)
        error = await call.log.wait_for("error")
    assert error["error"]["code"] == "invalid_value"
    assert error["error"]["param"] == "audio_end_ms"


async def test_truncate_of_an_unknown_item_is_refused(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        await call.conn.conversation.item.truncate(item_id="item_nope", content_index=0, audio_end_ms=0)
        error = await call.log.wait_for("error")
    assert error["error"]["code"] == "item_truncate_invalid_item_id"


async def test_response_cancel_ends_the_response_as_cancelled(slow_sim: RealtimeSim) -> None:
    async with realtime(slow_sim) as call:
        await call.configure("barge_in")
        await call.conn.response.create()
        await call.log.wait_for("response.output_audio.delta")
        await call.conn.response.cancel()
        done = await call.log.wait_for("response.done")
        item_done = await call.log.wait_for("response.output_item.done")
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"]["reason"] == "client_cancelled"
    assert item_done["item"]["status"] == "incomplete"
    assert len(audio_of(call.log, done["response"]["id"])) < len(
        speech(speech_ms(SCENARIOS["barge_in"].turns[0].ai))
    )


async def test_response_cancel_without_a_response_is_refused(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        await call.conn.response.cancel()
        error = await call.log.wait_for("error")
    assert error["error"]["code"] == "response_cancel_not_active"


async def test_second_concurrent_response_is_refused(slow_sim: RealtimeSim) -> None:
    async with realtime(slow_sim) as call:
        await call.configure("default")
        await call.conn.response.create()
        await call.conn.response.create(event_id="evt_second")
        error = await call.log.wait_for("error")
        first = await call.log.wait_for("response.created")
    assert error["error"]["code"] == "conversation_already_has_active_response"
    assert error["error"]["event_id"] == "evt_second"
    assert first["response"]["id"] in error["error"]["message"]
    assert len(call.log.of_type("response.created")) == 1


async def test_unknown_event_type_is_refused_without_closing(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        await call.conn.send_raw(json.dumps({"type": "conversation.frobnicate", "event_id": "evt_1"}))
        error = await call.log.wait_for("error")
        updated = await call.configure("default")
    assert error["error"]["type"] == "invalid_request_error"
    assert (error["error"]["code"], error["error"]["param"], error["error"]["event_id"]) == (
        "invalid_value",
        "type",
        "evt_1",
    )
    assert updated["type"] == "session.updated"


async def test_caller_speech_during_a_response_cancels_it(slow_sim: RealtimeSim) -> None:
    async with realtime(slow_sim) as call:
        await call.configure("barge_in")
        await call.say(SCENARIOS["barge_in"].turns[0].caller)
        await call.log.wait_for("response.output_audio.delta")
        mark = call.log.mark()
        await call.append(speech(400))
        started = await call.log.wait_for("input_audio_buffer.speech_started", mark)
        done = await call.log.wait_for("response.done")
    assert call.log.events.index(started) < call.log.events.index(done)
    assert done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"]["reason"] == "turn_detected"


async def test_wrong_api_key_gets_an_invalid_api_key_error_and_close(sim: RealtimeSim) -> None:
    async with realtime(sim, api_key="sk-wrong-key-123456") as call:
        error = await call.log.wait_for("error")
        closed = await call.log.wait_closed()
    assert error["error"]["type"] == "invalid_request_error"
    assert error["error"]["code"] == "invalid_api_key"
    assert closed.rcvd is not None
    assert (closed.rcvd.code, closed.rcvd.reason) == (3000, "invalid_request_error.invalid_api_key")
    assert sim.sessions == []


async def test_path_other_than_v1_realtime_is_not_found(sim: RealtimeSim) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with ws_connect(
            f"{sim.websocket_base_url}/chat", additional_headers={"Authorization": "Bearer x"}
        ):
            pass
    assert refused.value.response.status_code == 404


async def test_model_error_scenario_sends_server_error_and_closes(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        await call.configure("model_error")
        await call.say(SCENARIOS["model_error"].turns[0].caller)
        done = await call.log.wait_for("response.done")
        error = await call.log.wait_for("error")
        closed = await call.log.wait_closed()
    assert done["response"]["status"] == "completed"
    assert error["error"]["type"] == "server_error"
    assert closed.rcvd is not None
    assert closed.rcvd.code == 1011


async def test_rate_limits_follow_each_response_done(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        await call.configure("default")
        await call.respond(f"«{GREETING}»")
        limits = await call.log.wait_for("rate_limits.updated")
    types = [e["type"] for e in call.log.events]
    assert types.index("rate_limits.updated") == types.index("response.done") + 1
    assert {r["name"] for r in limits["rate_limits"]} == {"requests", "tokens"}


async def test_commit_of_too_little_audio_is_refused(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        await call.append(silence(40))
        await call.conn.input_audio_buffer.commit()
        error = await call.log.wait_for("error")
    assert error["error"]["code"] == "input_audio_buffer_commit_empty"


async def test_clear_empties_the_input_buffer(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        await call.conn.session.update(
            session={"type": "realtime", "audio": {"input": {"turn_detection": None}}}
        )
        await call.append(speech(300))
        await call.conn.input_audio_buffer.clear()
        await call.log.wait_for("input_audio_buffer.cleared")
        await call.conn.input_audio_buffer.commit()
        error = await call.log.wait_for("error")
    assert error["error"]["code"] == "input_audio_buffer_commit_empty"
    assert call.log.of_type("input_audio_buffer.speech_started") == []


async def test_manual_commit_without_turn_detection_adds_the_callers_turn(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        await call.configure("default")
        await call.conn.session.update(
            session={"type": "realtime", "audio": {"input": {"turn_detection": None}}}
        )
        await call.append(speech(600))
        await call.conn.input_audio_buffer.commit()
        committed = await call.log.wait_for("input_audio_buffer.committed")
        transcribed = await call.log.wait_for("conversation.item.input_audio_transcription.completed")
        done = await call.respond()
    assert transcribed["item_id"] == committed["item_id"]
    assert transcribed["transcript"] == SCENARIOS["default"].turns[0].caller
    assert done["response"]["output"][0]["content"][0]["transcript"] == SCENARIOS["default"].turns[0].ai


async def test_created_item_can_be_retrieved_then_deleted(sim: RealtimeSim) -> None:
    async with realtime(sim) as call:
        await call.conn.conversation.item.create(
            item={
                "id": "item_note",
                "type": "message",
                "role": "system",
                "content": [{"type": "input_text", "text": "Be brief."}],
            }
        )
        await call.conn.conversation.item.retrieve(item_id="item_note")
        retrieved = await call.log.wait_for("conversation.item.retrieved")
        await call.conn.conversation.item.delete(item_id="item_note")
        deleted = await call.log.wait_for("conversation.item.deleted")
    assert retrieved["item"]["content"] == [{"type": "input_text", "text": "Be brief."}]
    assert deleted["item_id"] == "item_note"
    assert sim.sessions[0].items == []


async def test_observer_sees_audio_in_items_created_and_audio_out() -> None:
    seen: list[RealtimeObservation] = []
    async with (
        RealtimeSim(api_key=API_KEY, response_delay_ms=10, stream_speed=50.0, observer=seen.append) as s,
        realtime(s) as call,
    ):
        await call.configure("default")
        await call.append(silence(100))
        await call.conn.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Hi there"}],
            }
        )
        await call.log.wait_for("conversation.item.done")
        done = await call.respond()
    by_kind = {kind: [o for o in seen if o.kind == kind] for kind in {o.kind for o in seen}}
    assert [len(o.payload or b"") for o in by_kind["input_audio_buffer.append"]] == [FRAME_BYTES] * 5
    assert [o.detail for o in by_kind["conversation.item.create"]] == ["Hi there"]
    sent = b"".join(o.payload or b"" for o in by_kind["response.output_audio.delta"])
    assert sent == audio_of(call.log, done["response"]["id"])
    assert all(o.session_id == s.sessions[0].id for o in seen)


async def drive_scenario(call: Call, name: str) -> None:
    """A whole scripted call as a bridge drives it: greeting, caller turns, barge-ins, tool results."""
    turns = SCENARIOS[name].turns
    await call.configure(name)
    await call.respond(f"Say «{GREETING}»")
    for index, turn in enumerate(turns):
        mark = call.log.mark()
        if turn.interrupt_after_ms is None:
            await call.say(turn.caller)
        else:
            # The caller talks over the answer still streaming; the bridge then truncates it.
            await call.append(speech(speech_ms(turn.caller)) + silence(SILENCE_MS + 200))
            interrupted = await call.log.wait_for("response.done", mark)
            assert interrupted["response"]["status"] == "cancelled"
            item_id = interrupted["response"]["output"][0]["id"]
            await call.conn.conversation.item.truncate(item_id=item_id, content_index=0, audio_end_ms=0)
        if index + 1 < len(turns) and turns[index + 1].interrupt_after_ms is not None:
            await call.log.wait_for("response.output_audio.delta", mark)
            continue
        done = await call.log.wait_for(
            "response.done", mark, lambda e: e["response"]["status"] == "completed"
        )
        if SCENARIOS[name].fail_after_turns is not None:
            await call.log.wait_closed()
            return
        for request in function_calls(done):
            await call.conn.conversation.item.create(
                item={"type": "function_call_output", "call_id": request["call_id"], "output": "done"}
            )
            if request["name"] == "request_user":
                await call.respond("The supervisor says: «Your balance is forty-two dollars.»")


@pytest.mark.parametrize("scenario", ["default", "barge_in", "transfer", "request_user", "model_error"])
async def test_every_event_of_a_scripted_call_validates_as_an_openai_server_event(scenario: str) -> None:
    async with RealtimeSim(api_key=API_KEY, response_delay_ms=10, stream_speed=3.0) as s, realtime(s) as call:
        await drive_scenario(call, scenario)
    assert len(call.log.events) > 20
    for event in call.log.events:
        assert_valid_server_event(event)
