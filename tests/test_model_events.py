"""The Realtime server events the worker acts on, parsed from the JSON the API sends.

Fixtures are built with the fake server's own event builders (``phony.sim.realtime.events``) and
each is also validated with the ``openai`` package's server event union (GA, or beta for the legacy
names), so they hold to the real API; a scripted call through the fake server checks every event it
sends end to end.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from openai.types.beta.realtime import RealtimeServerEvent as BetaServerEvent
from openai.types.realtime import RealtimeServerEvent
from pydantic import TypeAdapter

from phony.sim.realtime import RealtimeSim
from phony.sim.realtime.config import default_session
from phony.sim.realtime.events import (
    WORD_LOGPROB,
    JsonObject,
    ServerEvents,
    assistant_item,
    function_call_item,
    usage,
)
from phony.sim.realtime.parsing import ClientError
from phony.workers.calls.model_events import (
    AudioDelta,
    BadModelEvent,
    FunctionCallDone,
    ModelError,
    ModelEvent,
    OutputItemAdded,
    ResponseCreated,
    ResponseDone,
    SessionReady,
    SpeechStarted,
    SpeechStopped,
    TokenLogprob,
    TranscriptDelta,
    TranscriptDone,
    TranscriptionCompleted,
    parse_server_event,
)
from tests.sim.test_realtime_sim import API_KEY, drive_scenario, realtime

GA: TypeAdapter[Any] = TypeAdapter(RealtimeServerEvent)
BETA: TypeAdapter[Any] = TypeAdapter(BetaServerEvent)

EVENTS = ServerEvents()
SESSION_ID = EVENTS.new_id("sess")
RESPONSE_ID = EVENTS.new_id("resp")
ITEM_ID = EVENTS.new_id("item")
USER_ITEM_ID = EVENTS.new_id("item")
CALL_ID = EVENTS.new_id("call")
TOOL_ITEM_ID = EVENTS.new_id("item")
AUDIO_B64 = base64.b64encode(b"\xff" * 800).decode()
WHERE = {"response_id": RESPONSE_ID, "item_id": ITEM_ID, "output_index": 0, "content_index": 0}
SPOKEN = "Sure. Your order shipped yesterday."


def response_body(status: str, output: list[JsonObject], details: JsonObject | None = None) -> JsonObject:
    """A ``response`` object as the fake server sends it (``ResponseRun._response``)."""
    return {
        "object": "realtime.response",
        "id": RESPONSE_ID,
        "status": status,
        "status_details": details,
        "output": output,
        "conversation_id": "conv_" + SESSION_ID.removeprefix("sess_"),
        "output_modalities": ["audio"],
        "max_output_tokens": "inf",
        "audio": {"output": {"format": {"type": "audio/pcmu"}, "voice": "alloy"}},
        "usage": None if status == "in_progress" else usage(120, 40, SPOKEN, 2000),
        "metadata": None,
    }


def ga(event: JsonObject) -> JsonObject:
    """The event, checked to be a GA server event of its type."""
    assert GA.validate_python(event).type == event["type"]
    return event


def beta(event: JsonObject) -> JsonObject:
    """The event, checked to be a beta server event of its type."""
    assert BETA.validate_python(event).type == event["type"]
    return event


SPOKEN_ITEM = assistant_item(ITEM_ID, "completed", [{"type": "output_audio", "transcript": SPOKEN}])
TOOL_ITEM = function_call_item(TOOL_ITEM_ID, CALL_ID, "end_call", "{}", "completed")

PARSED: list[tuple[JsonObject, ModelEvent]] = [
    (EVENTS.make("session.created", session=default_session(SESSION_ID, "gpt-realtime")), SessionReady()),
    (
        EVENTS.make("session.updated", session=default_session(SESSION_ID, "gpt-realtime")),
        SessionReady(type="session.updated"),
    ),
    (
        EVENTS.make("input_audio_buffer.speech_started", audio_start_ms=1200, item_id=USER_ITEM_ID),
        SpeechStarted(),
    ),
    (
        EVENTS.make("input_audio_buffer.speech_stopped", audio_end_ms=3400, item_id=USER_ITEM_ID),
        SpeechStopped(),
    ),
    (
        EVENTS.transcription_completed(USER_ITEM_ID, "Hi there", "gpt-4o-mini-transcribe", 2200, True),
        TranscriptionCompleted(
            item_id=USER_ITEM_ID,
            transcript="Hi there",
            logprobs=(
                TokenLogprob(token="Hi", logprob=WORD_LOGPROB),
                TokenLogprob(token=" there", logprob=WORD_LOGPROB),
            ),
        ),
    ),
    (
        EVENTS.transcription_completed(USER_ITEM_ID, "Hi there", "whisper-1", 2200),
        TranscriptionCompleted(item_id=USER_ITEM_ID, transcript="Hi there"),
    ),
    (
        EVENTS.make("response.created", response=response_body("in_progress", [])),
        ResponseCreated(response_id=RESPONSE_ID),
    ),
    (
        EVENTS.make(
            "response.output_item.added",
            response_id=RESPONSE_ID,
            output_index=0,
            item=assistant_item(ITEM_ID, "in_progress", []),
        ),
        OutputItemAdded(response_id=RESPONSE_ID, item_id=ITEM_ID, item_type="message"),
    ),
    (
        EVENTS.make(
            "response.output_item.added",
            response_id=RESPONSE_ID,
            output_index=1,
            item=function_call_item(TOOL_ITEM_ID, CALL_ID, "end_call", "", "in_progress"),
        ),
        OutputItemAdded(response_id=RESPONSE_ID, item_id=TOOL_ITEM_ID, item_type="function_call"),
    ),
    (
        EVENTS.make("response.output_audio_transcript.delta", delta="Sure.", **WHERE),
        TranscriptDelta(response_id=RESPONSE_ID, item_id=ITEM_ID, delta="Sure."),
    ),
    (
        EVENTS.make("response.output_text.delta", delta="Sure.", **WHERE),
        TranscriptDelta(
            type="response.output_text.delta", response_id=RESPONSE_ID, item_id=ITEM_ID, delta="Sure."
        ),
    ),
    (
        EVENTS.make("response.output_audio_transcript.done", transcript=SPOKEN, **WHERE),
        TranscriptDone(response_id=RESPONSE_ID, item_id=ITEM_ID, transcript=SPOKEN),
    ),
    (
        EVENTS.make("response.output_text.done", text=SPOKEN, **WHERE),
        TranscriptDone(
            type="response.output_text.done", response_id=RESPONSE_ID, item_id=ITEM_ID, transcript=SPOKEN
        ),
    ),
    (
        EVENTS.make(
            "response.function_call_arguments.done",
            response_id=RESPONSE_ID,
            item_id=TOOL_ITEM_ID,
            output_index=1,
            call_id=CALL_ID,
            name="transfer_call",
            arguments='{"target": "+15550001111"}',
        ),
        FunctionCallDone(
            response_id=RESPONSE_ID,
            call_id=CALL_ID,
            name="transfer_call",
            arguments='{"target": "+15550001111"}',
        ),
    ),
    (
        EVENTS.make("response.done", response=response_body("completed", [SPOKEN_ITEM, TOOL_ITEM])),
        ResponseDone(response_id=RESPONSE_ID, status="completed"),
    ),
    (
        EVENTS.make(
            "response.done",
            response=response_body(
                "cancelled", [SPOKEN_ITEM], {"type": "cancelled", "reason": "turn_detected"}
            ),
        ),
        ResponseDone(response_id=RESPONSE_ID, status="cancelled"),
    ),
    (
        EVENTS.error(ClientError("Unknown parameter: 'session.temperature'.", "unknown_parameter", "x")),
        ModelError(
            error_type="invalid_request_error",
            code="unknown_parameter",
            message="Unknown parameter: 'session.temperature'.",
        ),
    ),
    (
        EVENTS.error(ClientError("The server had an error.", None, error_type="server_error")),
        ModelError(error_type="server_error", code=None, message="The server had an error."),
    ),
]

BETA_PARSED: list[tuple[JsonObject, ModelEvent]] = [
    (
        EVENTS.make("response.audio_transcript.delta", delta="Sure.", **WHERE),
        TranscriptDelta(
            type="response.audio_transcript.delta", response_id=RESPONSE_ID, item_id=ITEM_ID, delta="Sure."
        ),
    ),
    (
        EVENTS.make("response.audio_transcript.done", transcript=SPOKEN, **WHERE),
        TranscriptDone(
            type="response.audio_transcript.done", response_id=RESPONSE_ID, item_id=ITEM_ID, transcript=SPOKEN
        ),
    ),
    (
        EVENTS.make("response.text.delta", delta="Sure.", **WHERE),
        TranscriptDelta(type="response.text.delta", response_id=RESPONSE_ID, item_id=ITEM_ID, delta="Sure."),
    ),
    (
        EVENTS.make("response.text.done", text=SPOKEN, **WHERE),
        TranscriptDone(
            type="response.text.done", response_id=RESPONSE_ID, item_id=ITEM_ID, transcript=SPOKEN
        ),
    ),
]

IGNORED: list[JsonObject] = [
    EVENTS.rate_limits(1, 400),
    EVENTS.make("conversation.item.added", previous_item_id=None, item=SPOKEN_ITEM),
    EVENTS.make("conversation.item.done", previous_item_id=None, item=SPOKEN_ITEM),
    EVENTS.make("input_audio_buffer.committed", previous_item_id=None, item_id=USER_ITEM_ID),
    EVENTS.make(
        "conversation.item.input_audio_transcription.delta", item_id=USER_ITEM_ID, content_index=0, delta="Hi"
    ),
    EVENTS.make("response.output_audio.done", **WHERE),
    EVENTS.make("response.content_part.added", part={"type": "audio", "transcript": ""}, **WHERE),
    EVENTS.make(
        "response.function_call_arguments.delta",
        response_id=RESPONSE_ID,
        item_id=TOOL_ITEM_ID,
        output_index=1,
        call_id=CALL_ID,
        delta="{}",
    ),
    EVENTS.make("response.output_item.done", response_id=RESPONSE_ID, output_index=0, item=SPOKEN_ITEM),
]


def ids(cases: list[tuple[JsonObject, ModelEvent]]) -> list[str]:
    return [str(event["type"]) for event, _ in cases]


@pytest.mark.parametrize(("event", "expected"), PARSED, ids=ids(PARSED))
def test_each_event_the_worker_uses_parses_into_its_class(event: JsonObject, expected: ModelEvent) -> None:
    assert parse_server_event(json.dumps(ga(event))) == expected


@pytest.mark.parametrize(("event", "expected"), BETA_PARSED, ids=ids(BETA_PARSED))
def test_beta_transcript_and_text_names_parse_into_the_same_classes(
    event: JsonObject, expected: ModelEvent
) -> None:
    assert parse_server_event(json.dumps(beta(event))) == expected


@pytest.mark.parametrize(
    "event",
    [
        ga(EVENTS.make("response.output_audio.delta", delta=AUDIO_B64, **WHERE)),
        beta(EVENTS.make("response.audio.delta", delta=AUDIO_B64, **WHERE)),
    ],
    ids=["ga", "beta"],
)
def test_audio_delta_is_the_plain_audio_delta_under_either_name(event: JsonObject) -> None:
    parsed = parse_server_event(json.dumps(event).encode())
    assert parsed == AudioDelta(response_id=RESPONSE_ID, item_id=ITEM_ID, delta=AUDIO_B64)
    assert type(parsed) is AudioDelta
    assert not hasattr(parsed, "__dict__")  # slotted


def test_bytes_and_str_messages_parse_alike() -> None:
    event = json.dumps(PARSED[-1][0])
    assert parse_server_event(event.encode()) == parse_server_event(event) == PARSED[-1][1]


@pytest.mark.parametrize("event", [ga(e) for e in IGNORED], ids=[str(e["type"]) for e in IGNORED])
def test_types_the_worker_ignores_parse_to_none(event: JsonObject) -> None:
    assert parse_server_event(json.dumps(event)) is None


def test_unknown_type_parses_to_none() -> None:
    assert parse_server_event('{"type": "response.brand_new.delta", "delta": 1}') is None


@pytest.mark.parametrize(
    ("raw", "event_type", "reason"),
    [
        ('{"type": "response.done", "event_id": "e1"}', "response.done", "response.id: Field required"),
        ('{"type": "response.done", "response": {"status": "completed"}}', "response.done", "response.id"),
        ('{"type": "response.created", "response": null}', "response.created", "response.id"),
        ('{"type": "error", "event_id": "e1"}', "error", "error.type: Field required"),
        (
            '{"type": "response.function_call_arguments.done", "response_id": "r", "name": "end_call",'
            ' "arguments": "{}"}',
            "response.function_call_arguments.done",
            "call_id: Field required",
        ),
        (
            '{"type": "response.output_item.added", "response_id": "r"}',
            "response.output_item.added",
            "item.type",
        ),
        (
            '{"type": "conversation.item.input_audio_transcription.completed", "item_id": "i",'
            ' "transcript": "hi", "logprobs": [{"token": "hi"}]}',
            "conversation.item.input_audio_transcription.completed",
            "logprobs.0.logprob: Field required",
        ),
        (
            '{"type": "response.output_audio.delta", "response_id": "r", "item_id": "i"}',
            "response.output_audio.delta",
            "delta",
        ),
        (
            '{"type": "response.audio.delta", "response_id": "r", "item_id": "i", "delta": 5}',
            "response.audio.delta",
            "delta",
        ),
        ('{"type": 7}', None, "string type"),
        ('{"event_id": "e1"}', None, "string type"),
        ('["response.done"]', None, "JSON object"),
        ("not json", None, "not JSON"),
    ],
    ids=[
        "response.done-without-response",
        "response.done-without-id",
        "response.created-with-null-response",
        "error-without-error",
        "function-call-without-call_id",
        "output-item-without-item",
        "logprob-without-logprob",
        "audio-delta-without-delta",
        "beta-audio-delta-not-a-string",
        "type-not-a-string",
        "no-type",
        "json-array",
        "not-json",
    ],
)
def test_malformed_event_raises_bad_model_event_naming_its_type(
    raw: str, event_type: str | None, reason: str
) -> None:
    with pytest.raises(BadModelEvent, match=reason) as caught:
        parse_server_event(raw)
    assert caught.value.event_type == event_type
    assert isinstance(caught.value, ValueError)


def test_event_classes_are_frozen() -> None:
    done = ResponseDone(response_id=RESPONSE_ID, status="completed")
    delta = AudioDelta(RESPONSE_ID, ITEM_ID, AUDIO_B64)
    with pytest.raises(ValueError, match="frozen"):
        done.status = "cancelled"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        delta.delta = ""  # type: ignore[misc]


@pytest.mark.parametrize("scenario", ["request_user", "barge_in", "model_error"])
async def test_every_event_of_a_scripted_fake_server_call_parses(scenario: str) -> None:
    # `realtime` also validates every event it received with the openai package's union on exit.
    async with (
        RealtimeSim(api_key=API_KEY, response_delay_ms=10, stream_speed=3.0) as sim,
        realtime(sim) as call,
    ):
        await drive_scenario(call, scenario)
    parsed = [(event, parse_server_event(json.dumps(event))) for event in call.log.events]
    handled = {type(p) for _, p in parsed if p is not None}
    for event, result in parsed:
        if isinstance(result, AudioDelta):
            assert event["type"] == "response.output_audio.delta"
        elif result is not None:
            assert result.type == event["type"]

    created = {p.response_id for _, p in parsed if isinstance(p, ResponseCreated)}
    messages = {p.item_id for _, p in parsed if isinstance(p, OutputItemAdded) and p.item_type == "message"}
    deltas = [p for _, p in parsed if isinstance(p, AudioDelta)]
    assert deltas
    assert {d.response_id for d in deltas} <= created
    assert {d.item_id for d in deltas} <= messages
    for done in (p for _, p in parsed if isinstance(p, TranscriptDone)):
        words = [p.delta for _, p in parsed if isinstance(p, TranscriptDelta) and p.item_id == done.item_id]
        assert "".join(words) == done.transcript
    statuses = {p.status for _, p in parsed if isinstance(p, ResponseDone)}

    assert {SessionReady, SpeechStarted, SpeechStopped, TranscriptionCompleted, ResponseCreated} <= handled
    assert {OutputItemAdded, TranscriptDelta, TranscriptDone, AudioDelta} <= handled
    if scenario == "request_user":
        assert FunctionCallDone in handled
        assert "completed" in statuses
    if scenario == "barge_in":
        assert "cancelled" in statuses
    if scenario == "model_error":
        assert ModelError in handled
