"""The AsyncAPI document at ``/asyncapi.json`` is valid AsyncAPI 3.0.0, names every event type (at its
version) and every command as a message, describes what the product really writes, and has a page.

The official schema is ``schemas/3.0.0-without-$id.json`` of the npm package ``@asyncapi/specs``
(Apache-2.0, by the AsyncAPI Initiative), fetched once from the npm registry into ``.services/cache``
and checked against the package's published integrity digest.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from phony.commands.agents import CreateAgent
from phony.commands.audio import AudioFrame
from phony.commands.calls import PlaceCall, SendText, UpdateCallStatus
from phony.config import Settings
from phony.edge.asyncapi.messages import command_classes, command_type
from phony.events import EVENT_CLASSES, REGISTRY, EventData, envelope_for
from phony.events.agents import AgentSettings
from phony.events.calls import HeldCommand
from phony.events.tenants import TenantLimits
from phony.workers.snapshot_topic import snapshot_topic
from tests.support import ROOT, PhonyProcess

SPECS_VERSION = "6.11.1"
SPECS_TARBALL = f"https://registry.npmjs.org/@asyncapi/specs/-/specs-{SPECS_VERSION}.tgz"
SPECS_INTEGRITY = (
    "sha512-A3WBLqAKGoJ2+6FWFtpjBlCQ1oFCcs4GxF7zsIGvNqp/klGUHjlA3aAcZ9XMMpLGE8zPeYDz2x9FmO6DSuKraQ=="
)
SCHEMA_MEMBER = "package/schemas/3.0.0-without-$id.json"

SETTINGS = AgentSettings(name="Support", system_prompt="Be kind.", voice="alloy", model="gpt-realtime")
CALL_SID = "CA0123456789abcdef0123456789abcdef"

# One real payload per registered event type (a new type fails the test below until it has one).
SAMPLES: dict[str, EventData] = {
    cls.TYPE: cls.model_validate(data)
    for cls, data in [
        (REGISTRY["tenant.created"], {"name": "Acme", "limits": TenantLimits(websockets=3)}),
        (REGISTRY["tenant.updated"], {"name": "Acme", "status": "suspended", "limits": TenantLimits()}),
        (
            REGISTRY["api_key.issued"],
            {
                "key_id": "key_1",
                "name": "ci",
                "prefix": "pk_live_abc",
                "key_hash": "0" * 64,
                "expires_at": datetime(2030, 1, 1, tzinfo=UTC),
            },
        ),
        (REGISTRY["api_key.revoked"], {"key_id": "key_1"}),
        (REGISTRY["agent.created"], {"settings": SETTINGS}),
        (REGISTRY["agent.updated"], {"settings": SETTINGS, "changed": ["voice"]}),
        (REGISTRY["agent.deleted"], {}),
        (
            REGISTRY["call.started"],
            {
                "callSid": CALL_SID,
                "from": "+15550001111",
                "to": "+15550002222",
                "timestamp": "2030-01-01T00:00:00Z",
                "direction": "outbound",
                "agent_id": "agent_1",
                "scenario": "customer_support",
                "metadata": {"order": 42},
                "agent": SETTINGS,
            },
        ),
        (REGISTRY["call.ringing"], {}),
        (REGISTRY["call.answered"], {}),
        (REGISTRY["media.started"], {"stream_sid": "MZ1"}),
        (
            REGISTRY["speech.detected"],
            {"text": "Hi", "speaker": "caller", "confidence": 0.9, "item_id": "i1"},
        ),
        (
            REGISTRY["ai.response"],
            {"response_id": "r1", "text": "Hello", "audio_url": "/calls/CA/r1.wav", "model": "gpt-realtime"},
        ),
        (REGISTRY["response.interrupted"], {"response_id": "r1", "played_ms": 840}),
        (
            REGISTRY["response.pending_approval"],
            {
                "response_id": "r2",
                "text": "Transferring you",
                "commands": (HeldCommand(command="transfer", argument="+15550003333", source="marker"),),
            },
        ),
        (REGISTRY["response.approved"], {"response_id": "r2", "text": "Transferring you"}),
        (REGISTRY["command.executed"], {"command": "press", "argument": "1#", "source": "tool"}),
        (REGISTRY["call.transferred"], {"target": "+15550003333", "by": "supervisor"}),
        (REGISTRY["dtmf.sent"], {"digits": "123#", "by": "ai"}),
        (REGISTRY["dtmf.received"], {"digit": "5"}),
        (REGISTRY["supervisor.text_sent"], {"text": "One moment"}),
        (REGISTRY["clarification.requested"], {"question": "Refund?", "call_id": "call_1"}),
        (REGISTRY["clarification.answered"], {"response": "Yes"}),
        (REGISTRY["latency.measured"], {"metric": "speech_end_to_audio", "ms": 412.5}),
        (REGISTRY["error.occurred"], {"error_type": "routing", "message": "no agent", "code": "NO_AGENT"}),
        (REGISTRY["call.ended"], {"callSid": CALL_SID, "duration": 12.5, "reason": "ai_ended"}),
    ]
}


def _schema_from_registry(cache: Path) -> dict[str, Any]:
    tarball = httpx.get(SPECS_TARBALL, timeout=60, follow_redirects=True).raise_for_status().content
    algorithm, digest = SPECS_INTEGRITY.split("-", 1)
    assert base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode() == digest
    with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
        member = archive.extractfile(SCHEMA_MEMBER)
        assert member is not None
        text = member.read()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(text)
    schema: dict[str, Any] = json.loads(text)
    return schema


@pytest.fixture(scope="module")
def asyncapi_schema() -> dict[str, Any]:
    """The official AsyncAPI 3.0.0 JSON Schema (draft 7)."""
    cache = ROOT / ".services" / "cache" / f"asyncapi-specs-{SPECS_VERSION}" / "3.0.0.json"
    if cache.exists():
        schema: dict[str, Any] = json.loads(cache.read_bytes())
        return schema
    return _schema_from_registry(cache)


@pytest.fixture(scope="module")
async def document(phony: PhonyProcess) -> dict[str, Any]:
    """The served document, fetched without a key."""
    async with httpx.AsyncClient(base_url=phony.url, timeout=30) as client:
        response = await client.get("/asyncapi.json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    doc: dict[str, Any] = response.json()
    return doc


def _validator(doc: dict[str, Any], message_id: str) -> jsonschema.Draft7Validator:
    """A validator of one message's payload, its references resolved in the document's components."""
    payload = doc["components"]["messages"][message_id]["payload"]
    return jsonschema.Draft7Validator({"allOf": [payload], "components": doc["components"]})


def _errors(validator: jsonschema.Draft7Validator, instance: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def _messages(doc: dict[str, Any], prefix: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in doc["components"]["messages"].items() if k.startswith(prefix)}


def test_served_document_is_valid_asyncapi_3(
    document: dict[str, Any], asyncapi_schema: dict[str, Any]
) -> None:
    assert document["asyncapi"] == "3.0.0"
    errors = sorted(jsonschema.Draft7Validator(asyncapi_schema).iter_errors(document), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5]]
    broken = json.loads(json.dumps(document))
    broken["operations"]["sendCommand"]["action"] = "publish"  # AsyncAPI 2's verb: the schema must notice
    assert not jsonschema.Draft7Validator(asyncapi_schema).is_valid(broken)


def test_every_event_type_at_its_version_is_a_message_of_the_events_topic_and_socket(
    document: dict[str, Any], settings: Settings
) -> None:
    channels = document["channels"]
    assert channels["events"]["address"] == settings.topic("events")
    on_topic = {m["name"]: m for m in _messages(document, "event.").values()}
    on_socket = {m["name"]: m for m in _messages(document, "publicEvent.").values()}
    assert set(on_topic) == set(REGISTRY)
    assert set(on_socket) == {cls.TYPE for cls in EVENT_CLASSES if cls.AGGREGATE == "call"}
    for cls in EVENT_CLASSES:
        for message in [on_topic[cls.TYPE], on_socket.get(cls.TYPE)]:
            if message is None:
                continue
            assert message["x-event-version"] == cls.VERSION
            typed = message["payload"]["allOf"][1]["properties"]
            assert typed["type"] == {"const": cls.TYPE}
            assert typed["version"]["const"] == cls.VERSION
    assert on_topic["agent.created"]["x-upcast-from"] == [1]
    for mid in [*_messages(document, "event."), *_messages(document, "publicEvent.")]:
        channel = "events" if mid.startswith("event.") else "eventsWebSocket"
        assert mid in channels[channel]["messages"]


def test_every_command_of_the_union_is_a_message_of_the_commands_topic(
    document: dict[str, Any], settings: Settings
) -> None:
    commands = document["channels"]["commands"]
    assert commands["address"] == settings.topic("commands")
    names = {m["name"] for m in _messages(document, "command.").values()}
    assert names == {command_type(cls) for cls in command_classes()}
    assert len(names) >= 20
    assert set(commands["messages"]) == set(_messages(document, "command."))
    operations = document["operations"]
    assert len(operations["sendCommand"]["messages"]) == len(names)
    assert operations["receiveCommand"]["bindings"]["kafka"]["groupId"]["enum"] == [settings.group("worker")]


def test_each_event_message_accepts_that_event_as_the_product_writes_and_serves_it(
    document: dict[str, Any],
) -> None:
    assert set(SAMPLES) == set(REGISTRY), "add a sample for each new event type"
    for cls in EVENT_CLASSES:
        payload = SAMPLES[cls.TYPE]
        aggregate_id = CALL_SID if cls.AGGREGATE == "call" else f"{cls.AGGREGATE}_1"
        envelope = envelope_for(
            payload, aggregate_id=aggregate_id, tenant_id="tenant_1", seq=3, command_id="c1"
        )
        stored = json.loads(envelope.to_json())
        assert _errors(_validator(document, f"event.{cls.__name__}"), stored) == [], cls.TYPE
        if cls.AGGREGATE == "call":
            public = _validator(document, f"publicEvent.{cls.__name__}")
            assert _errors(public, envelope.public()) == [], cls.TYPE
            assert not public.is_valid(stored), "the public envelope has no internal causation fields"
    # The schemas tell types apart: a call.ended is not a call.started, nor a mangled one a call.ended.
    ended = json.loads(
        envelope_for(SAMPLES["call.ended"], aggregate_id=CALL_SID, tenant_id="tenant_1", seq=9).to_json()
    )
    assert not _validator(document, "event.CallStarted").is_valid(ended)
    assert not _validator(document, "event.CallEnded").is_valid({**ended, "data": {"callSid": "CA1"}})


def test_command_messages_accept_commands_as_the_bus_writes_them(document: dict[str, Any]) -> None:
    ids = {"tenant_id": "tenant_1", "aggregate_id": CALL_SID}
    samples = [
        PlaceCall(**ids, agent_id="agent_1", agent=SETTINGS, to="+15550002222", **{"from": "+15550001111"}),
        SendText(**ids, text="One moment"),
        UpdateCallStatus(**ids, status="completed", duration=3.0),
        CreateAgent(tenant_id="tenant_1", aggregate_id="agent_1", settings=SETTINGS),
    ]
    for command in samples:
        wire = json.loads(command.model_dump_json())  # what CommandBus.send publishes
        validator = _validator(document, f"command.{type(command).__name__}")
        assert _errors(validator, wire) == [], type(command).__name__
    assert not _validator(document, "command.SendText").is_valid(wire)


def test_audio_messages_accept_the_frames_the_edge_sends(
    document: dict[str, Any], settings: Settings
) -> None:
    assert document["channels"]["audio"]["address"] == settings.topic("audio")
    frame = AudioFrame("a", "CA1", 20, base64.b64encode(b"\xff" * 160).decode(), 1.7e9)
    mark = AudioFrame("m", "CA1", 40, "resp_1:3")
    assert _errors(_validator(document, "audio.CallerAudio"), json.loads(frame.encode())) == []
    assert _errors(_validator(document, "audio.MarkPlayed"), json.loads(mark.encode())) == []
    assert not _validator(document, "audio.CallerAudio").is_valid(json.loads(mark.encode()))


def test_kafka_topics_carry_their_settings_and_snapshots_are_marked_internal(
    document: dict[str, Any], settings: Settings
) -> None:
    channels = document["channels"]
    events = channels["events"]["bindings"]["kafka"]
    assert events["partitions"] == settings.partitions
    assert events["topicConfiguration"]["retention.ms"] == -1
    configuration = channels["commands"]["bindings"]["kafka"]["topicConfiguration"]
    assert configuration["message.timestamp.type"] == "LogAppendTime"
    assert channels["snapshots"]["address"] == snapshot_topic(settings)
    assert channels["snapshots"]["x-internal"] is True


def test_events_websocket_channel_documents_its_query_and_close_codes(document: dict[str, Any]) -> None:
    socket = document["channels"]["eventsWebSocket"]
    assert socket["address"] == "/events/ws"
    assert set(socket["bindings"]["ws"]["query"]["properties"]) == {"callSid", "since", "token"}
    assert [c["code"] for c in socket["x-close-codes"]] == [1008, 1013, 1011, 1001]
    assert document["operations"]["streamEvents"]["action"] == "send"


async def test_asyncapi_page_names_every_event_type_and_needs_nothing_from_the_internet(
    phony: PhonyProcess,
) -> None:
    async with httpx.AsyncClient(base_url=phony.url, timeout=30) as client:
        page = await client.get("/asyncapi")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for event_type in REGISTRY:
        assert f"<code>{event_type}</code>" in page.text, event_type
    for cls in command_classes():
        assert f"<code>{command_type(cls)}</code>" in page.text
    assert "<script" not in page.text
    assert 'src="http' not in page.text
    assert 'rel="stylesheet"' not in page.text
