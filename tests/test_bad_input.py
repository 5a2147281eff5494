"""No 5xx from any input (SPEC §2, §7): numbers no type holds, text that is not Unicode, bodies over
the limit however they are sent, wrong methods and OPTIONS, loose booleans and phone numbers are
refused in the envelope, and a bad request costs nothing that was accepted, nor the connection."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h11
import httpx
import pytest

from phony.config import Settings
from phony.edge.schemas.common import E164, E164_PREFIX
from phony.projections.documents import mongo_client
from phony.sim.twilio import BUSY_NUMBER
from tests.support import ADMIN_KEY, TenantHandle, agent_body, unique_number
from tests.test_errors import assert_envelope

HUGE = str(2**63)
LONE_SURROGATE = b'"a\\ud800"'  # JSON's own escape: json.loads makes it a str UTF-8 cannot encode


@dataclass(frozen=True)
class Sent:
    method: str
    target: str
    body: bytes | None = None
    headers: Sequence[tuple[str, str]] = field(default_factory=tuple)


async def on_one_connection(url: str, key: str, requests: Sequence[Sent]) -> list[tuple[int, bytes]]:
    """Send ``requests`` one after another on a single keep-alive connection; each answer's status
    and body. Fails if the server closes the connection before the last answer."""
    address = urlsplit(url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    conn = h11.Connection(h11.CLIENT)
    answers: list[tuple[int, bytes]] = []
    try:
        for sent in requests:
            headers = [("host", address.netloc), ("authorization", f"Bearer {key}"), *sent.headers]
            if sent.body is not None:
                headers += [("content-type", "application/json"), ("content-length", str(len(sent.body)))]
            writer.write(conn.send(h11.Request(method=sent.method, target=sent.target, headers=headers)))
            if sent.body is not None:
                writer.write(conn.send(h11.Data(data=sent.body)))
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
            status, body = 0, b""
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await reader.read(65536))
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    raise AssertionError(f"connection closed after {answers} while sending {sent}")
            answers.append((status, body))
            assert conn.their_state is h11.DONE, f"the server will close the connection after {sent}"
            conn.start_next_cycle()
    finally:
        writer.close()
    return answers


@pytest.fixture
async def agent(tenant: TenantHandle) -> dict[str, object]:
    r = await tenant.client.post("/agents/", json=agent_body())
    assert r.status_code == 201, r.text
    created: dict[str, object] = r.json()
    return created


@pytest.mark.parametrize("path", ["/agents/", "/calls/", "/tenants/"])
async def test_offset_past_a_64_bit_integer_is_422(
    path: str, tenant: TenantHandle, admin: httpx.AsyncClient
) -> None:
    client = admin if path == "/tenants/" else tenant.client
    for offset in (HUGE, "9" * 40):
        assert_envelope(await client.get(path, params={"offset": offset}), 422, "VALIDATION_ERROR")


async def test_since_past_a_64_bit_integer_is_422(tenant: TenantHandle) -> None:
    r = await tenant.client.get("/calls/CAunknown/events", params={"since": HUGE})
    assert_envelope(r, 422, "VALIDATION_ERROR")


async def test_the_largest_offset_mongodb_takes_is_an_empty_page(tenant: TenantHandle) -> None:
    r = await tenant.client.get("/agents/", params={"offset": 2**63 - 1})
    assert r.status_code == 200, r.text
    assert r.json()["agents"] == []


async def test_number_past_float_range_is_422_naming_the_field(tenant: TenantHandle) -> None:
    r = await tenant.client.post(
        "/agents/",
        content=b'{"name": "a", "temperature": 1e999}',
        headers={"content-type": "application/json"},
    )
    error = assert_envelope(r, 422, "VALIDATION_ERROR")
    assert error["details"] == {"field": "temperature", "value": "inf"}


async def test_body_that_is_a_number_past_float_range_is_422(tenant: TenantHandle) -> None:
    r = await tenant.client.post(
        "/agents/", content=b"1e999999", headers={"content-type": "application/json"}
    )
    error = assert_envelope(r, 422, "VALIDATION_ERROR")
    assert error["details"] == {"field": "body", "value": "inf"}


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
async def test_nan_and_infinity_are_not_json(constant: bytes, tenant: TenantHandle) -> None:
    r = await tenant.client.post(
        "/agents/",
        content=b'{"name": "a", "temperature": ' + constant + b"}",
        headers={"content-type": "application/json"},
    )
    assert_envelope(r, 400, "BAD_REQUEST")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/agents/", b'{"name": ' + LONE_SURROGATE + b"}"),
        ("POST", "/tenants/", b'{"name": ' + LONE_SURROGATE + b"}"),
        ("POST", "/override/text", b'{"callSid": "CA1", "text": ' + LONE_SURROGATE + b"}"),
        ("PATCH", "/agents/{agent}", b'{"greeting_message": ' + LONE_SURROGATE + b"}"),
        (
            "POST",
            "/calls/",
            b'{"agent_id": "x", "to_number": "+15551234567", "metadata": {"k": [' + LONE_SURROGATE + b"]}}",
        ),
    ],
)
async def test_lone_surrogate_in_a_json_string_is_422_and_the_connection_stays_open(
    method: str,
    path: str,
    body: bytes,
    tenant: TenantHandle,
    agent: dict[str, object],
    admin: httpx.AsyncClient,
) -> None:
    key = ADMIN_KEY if path == "/tenants/" else tenant.key
    target = path.format(agent=agent["id"])
    after = "/tenants/" if path == "/tenants/" else f"/agents/{agent['id']}"
    (status, error), (status_after, _) = await on_one_connection(
        str(admin.base_url), key, [Sent(method, target, body), Sent("GET", after)]
    )
    assert (status, status_after) == (422, 200)
    assert error.startswith(b'{"error":{"code":"VALIDATION_ERROR"')
    assert b'"value":"a\\\\ud800"' in error  # echoed as an escape, the way it was sent


async def test_lone_surrogate_in_a_field_name_is_422_naming_it(tenant: TenantHandle) -> None:
    r = await tenant.client.post(
        "/calls/",
        content=b'{"agent_id": "x", "to_number": "+15551234567", "metadata": {"\\udc00": 1}}',
        headers={"content-type": "application/json"},
    )
    error = assert_envelope(r, 422, "VALIDATION_ERROR")
    assert error["details"] == {"field": "metadata.\\udc00", "value": "\\udc00"}


async def test_query_parameter_that_is_not_utf8_is_422_naming_it(tenant: TenantHandle) -> None:
    r = await tenant.client.get("/calls/?agent_id=%ED%A0%80")
    error = assert_envelope(r, 422, "VALIDATION_ERROR")
    assert error["details"] == {"field": "agent_id", "value": "%ED%A0%80"}


async def test_path_that_is_not_utf8_is_422(tenant: TenantHandle) -> None:
    assert_envelope(await tenant.client.get("/agents/%FF%FE"), 422, "VALIDATION_ERROR")


async def test_emoji_escaped_as_a_surrogate_pair_is_text(tenant: TenantHandle) -> None:
    r = await tenant.client.post(
        "/agents/", content=b'{"name": "\\ud83d\\ude00"}', headers={"content-type": "application/json"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "\N{GRINNING FACE}"


async def _chunks(size: int) -> AsyncIterator[bytes]:
    yield b'{"name": "big", "system_prompt": "'
    for _ in range(size // 65536):
        yield b"x" * 65536
    yield b'"}'


async def test_chunked_body_over_the_limit_is_413(tenant: TenantHandle) -> None:
    r = await tenant.client.post(
        "/agents/", content=_chunks(2_000_000), headers={"content-type": "application/json"}
    )
    assert "content-length" not in r.request.headers
    error = assert_envelope(r, 413, "PAYLOAD_TOO_LARGE")
    assert error["details"] == {"limit": 1_048_576}


async def test_chunked_form_over_the_limit_is_413(tenant: TenantHandle) -> None:
    r = await tenant.client.post(
        "/receive_call",
        content=_chunks(2_000_000),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_envelope(r, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/agents/", {"GET", "POST", "OPTIONS"}),
        ("/agents/agent_x", {"GET", "PUT", "PATCH", "DELETE", "OPTIONS"}),
        ("/override/text", {"POST", "OPTIONS"}),
        ("/openapi.json", {"GET", "HEAD", "OPTIONS"}),
    ],
)
async def test_options_answers_with_every_method_the_path_serves(
    path: str, allowed: set[str], tenant: TenantHandle
) -> None:
    r = await tenant.client.options(path)
    assert r.status_code == 204, r.text
    assert {m.strip() for m in r.headers["allow"].split(",")} == allowed


async def test_options_on_an_unknown_path_is_404(tenant: TenantHandle) -> None:
    assert_envelope(await tenant.client.options("/nowhere"), 404, "NOT_FOUND")


async def test_wrong_method_is_405_allowing_every_method_the_path_serves(tenant: TenantHandle) -> None:
    r = await tenant.client.delete("/agents/")
    assert_envelope(r, 405, "METHOD_NOT_ALLOWED")
    assert {m.strip() for m in r.headers["allow"].split(",")} == {"GET", "POST", "OPTIONS"}


@pytest.mark.parametrize("value", [0, 1, "true", "false", None])
async def test_booleans_are_json_true_or_false_only(value: object, tenant: TenantHandle) -> None:
    r = await tenant.client.post("/agents/", json=agent_body(require_approval=value))
    error = assert_envelope(r, 422, "VALIDATION_ERROR")
    assert error["details"]["field"] == "require_approval"  # type: ignore[index]


async def test_patch_booleans_are_strict_too(tenant: TenantHandle, agent: dict[str, object]) -> None:
    r = await tenant.client.patch(f"/agents/{agent['id']}", json={"is_active": 0})
    assert_envelope(r, 422, "VALIDATION_ERROR")
    assert (await tenant.client.get(f"/agents/{agent['id']}")).json()["is_active"] is True


async def test_every_phone_field_states_the_e164_pattern(admin: httpx.AsyncClient) -> None:
    schemas = (await admin.get("/openapi.json")).json()["components"]["schemas"]

    def pattern(model: str, name: str) -> str:
        prop = schemas[model]["properties"][name]
        prop = prop.get("items") or next((s for s in prop.get("anyOf", []) if "pattern" in s), prop)
        return str(prop["pattern"])

    assert pattern("CallCreate", "to_number") == E164
    assert pattern("CallCreate", "from_number") == E164
    assert pattern("TransferOverride", "target") == E164
    assert pattern("AgentCreate", "phone_numbers") == E164
    assert pattern("AgentCreate", "transfer_allowlist") == E164_PREFIX
    patch = schemas["AgentPatch"]["properties"]["phone_numbers"]["anyOf"][0]
    assert patch["items"]["pattern"] == E164
    # A number twice is refused (422), so the schema says the lists hold distinct items.
    assert schemas["AgentCreate"]["properties"]["phone_numbers"]["uniqueItems"] is True
    assert schemas["AgentCreate"]["properties"]["transfer_allowlist"]["uniqueItems"] is True
    assert patch["uniqueItems"] is True


@pytest.mark.parametrize(
    "number", ["+15551234567\n", "+1555\N{ARABIC-INDIC DIGIT FIVE}234567", "15551234567"]
)
async def test_phone_number_outside_the_pattern_is_refused(number: str, tenant: TenantHandle) -> None:
    r = await tenant.client.post("/agents/", json=agent_body(phone_numbers=[number]))
    error = assert_envelope(r, 422, "VALIDATION_ERROR")
    assert error["message"] == "Invalid phone number format"


async def test_every_operation_with_a_body_documents_400_413_and_422_in_the_envelope(
    admin: httpx.AsyncClient,
) -> None:
    spec = (await admin.get("/openapi.json")).json()
    with_body = [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if "requestBody" in op
    ]
    assert len(with_body) >= 12
    for path, method, op in with_body:
        for status in ("400", "413", "422"):
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (path, method, status)
    assert "HTTPValidationError" not in spec["components"]["schemas"]


async def test_bad_requests_lose_nothing_accepted_and_keep_the_connection(
    tenant: TenantHandle, agent: dict[str, object], admin: httpx.AsyncClient
) -> None:
    target = f"/agents/{agent['id']}"
    answers = await on_one_connection(
        str(admin.base_url),
        tenant.key,
        [
            Sent("PATCH", target, b'{"name": "kept"}'),
            Sent("PATCH", target, b'{"name": ' + LONE_SURROGATE + b"}"),
            Sent("PATCH", target, b'{"temperature": 1e999}'),
            Sent("PATCH", target, b'{"name": "x", "is_active": 0}'),
            Sent("PATCH", target, b"{not json"),
            Sent("PATCH", target, b'{"name": "' + b"x" * 1_100_000 + b'"}'),
            Sent("GET", f"/agents/?offset={HUGE}"),
            Sent("DELETE", "/agents/"),
            Sent("GET", target),
        ],
    )
    assert [status for status, _ in answers] == [200, 422, 422, 422, 400, 413, 422, 405, 200]
    assert b'"name":"kept"' in answers[-1][1]


async def test_unexpected_failure_keeps_the_connection(
    tenant: TenantHandle, settings: Settings, admin: httpx.AsyncClient
) -> None:
    client = mongo_client(settings)
    agents = client[settings.mongodb_db]["agents"]
    await agents.insert_one({"_id": "agent_broken2", "tenant_id": tenant.id, "deleted": False, "name": 42})
    try:
        answers = await on_one_connection(
            str(admin.base_url),
            tenant.key,
            [Sent("GET", "/agents/agent_broken2"), Sent("GET", "/tenants/me")],
        )
    finally:
        await agents.delete_one({"_id": "agent_broken2"})  # the log never had it: leave no trace
        await client.close()
    assert [status for status, _ in answers] == [500, 200]


@pytest.mark.parametrize(
    ("name", "value"),
    [("temperature", False), ("temperature", "0.5"), ("max_tokens", True), ("max_tokens", 1.5)],
)
async def test_numbers_are_json_numbers_only(name: str, value: object, tenant: TenantHandle) -> None:
    r = await tenant.client.post("/agents/", json=agent_body(**{name: value}))
    error = assert_envelope(r, 422, "VALIDATION_ERROR")
    assert error["details"]["field"] == name  # type: ignore[index]


async def test_numbers_are_taken_as_json_schema_reads_them(tenant: TenantHandle) -> None:
    # A number field takes an integer; an integer field takes 150.0, which JSON Schema calls an integer.
    r = await tenant.client.post("/agents/", json=agent_body(temperature=1, max_tokens=150.0))
    assert r.status_code == 201, r.text
    assert (r.json()["temperature"], r.json()["max_tokens"]) == (1.0, 150)


async def test_the_schema_states_the_bounds_of_numbers(admin: httpx.AsyncClient) -> None:
    schemas = (await admin.get("/openapi.json")).json()["components"]["schemas"]
    agent = schemas["AgentCreate"]["properties"]
    assert (agent["temperature"]["minimum"], agent["temperature"]["maximum"]) == (0, 2)
    assert agent["max_tokens"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 4096}
    expiry = schemas["ApiKeyCreate"]["properties"]["expires_in_seconds"]["anyOf"][0]
    assert (expiry["minimum"], expiry["maximum"]) == (1, 10 * 365 * 86400)


@pytest.mark.parametrize("value", [0, 1_900_000_000, True])
async def test_key_expiry_is_a_date_time_string_not_a_number(value: object, tenant: TenantHandle) -> None:
    r = await tenant.client.post("/tenants/me/api-keys", json={"expires_at": value})
    error = assert_envelope(r, 422, "VALIDATION_ERROR")
    assert error["details"]["field"] == "expires_at"  # type: ignore[index]


async def test_calling_with_an_agent_that_has_no_number_and_no_from_number_is_409(
    tenant: TenantHandle, agent: dict[str, object]
) -> None:
    r = await tenant.client.post("/calls/", json={"agent_id": agent["id"], "to_number": "+15557654321"})
    error = assert_envelope(r, 409, "CONFLICT")
    assert error["details"] == {"field": "from_number", "value": None}


@pytest.mark.parametrize("name", ["\x0b", " \t ", "\N{EM SPACE}\x1c"])
async def test_a_blank_name_is_refused_as_its_schema_says(
    name: str, tenant: TenantHandle, admin: httpx.AsyncClient
) -> None:
    r = await tenant.client.post("/agents/", json=agent_body(name=name))
    error = assert_envelope(r, 422, "VALIDATION_ERROR")
    assert error["message"] == "Text must not be blank"
    pattern = (await admin.get("/openapi.json")).json()["components"]["schemas"]["AgentCreate"]
    assert not re.search(pattern["properties"]["name"]["pattern"], name)


async def test_a_name_is_trimmed_after_its_length_is_checked(tenant: TenantHandle) -> None:
    assert (await tenant.client.post("/agents/", json=agent_body(name="  Bot  "))).json()["name"] == "Bot"
    r = await tenant.client.post("/agents/", json=agent_body(name=" " * 195 + "Bot" + " " * 5))
    assert_envelope(r, 422, "VALIDATION_ERROR")  # 203 characters as sent, over the schema's 200


@pytest.mark.parametrize(
    "metadata",
    [{"a": [[1]]}, {"$where": 1}, {"a.b": 1}, {"a\x00": 1}, {"": 1}, {"a": {"b": 1}}],
)
async def test_call_metadata_the_call_record_cannot_hold_is_refused(
    metadata: dict[str, object], tenant: TenantHandle
) -> None:
    # Accepted, each of these was on the log for good and failed the read model's write at every retry.
    agent = (await tenant.client.post("/agents/", json=agent_body(phone_numbers=[unique_number()]))).json()
    r = await tenant.client.post(
        "/calls/", json={"agent_id": agent["id"], "to_number": BUSY_NUMBER, "metadata": metadata}
    )
    assert_envelope(r, 422, "VALIDATION_ERROR")


async def test_flat_call_metadata_is_kept_with_the_call(tenant: TenantHandle) -> None:
    agent = (await tenant.client.post("/agents/", json=agent_body(phone_numbers=[unique_number()]))).json()
    metadata = {
        "campaign": "winter",
        "attempt": 1,
        "score": 0.5,
        "vip": True,
        "note": None,
        "tags": ["a", 2, "3"],
    }
    r = await tenant.client.post(
        "/calls/", json={"agent_id": agent["id"], "to_number": BUSY_NUMBER, "metadata": metadata}
    )
    assert r.status_code == 202, r.text
    call = await tenant.client.get(f"/calls/{r.json()['call_sid']}")
    assert call.json()["metadata"] == metadata


@pytest.mark.parametrize("value", [True, "5"])
async def test_tenant_limits_are_json_numbers(
    value: object, tenant: TenantHandle, admin: httpx.AsyncClient
) -> None:
    r = await admin.patch(f"/tenants/{tenant.id}", json={"limits": {"calls_per_minute": value}})
    error = assert_envelope(r, 422, "VALIDATION_ERROR")
    assert error["details"]["field"] == "limits"  # type: ignore[index]
    assert error["message"] == "calls_per_minute should be a JSON number"


async def test_a_metadata_text_is_not_read_as_a_number(tenant: TenantHandle) -> None:
    agent = (await tenant.client.post("/agents/", json=agent_body(phone_numbers=[unique_number()]))).json()
    long_digits = {"agent_id": agent["id"], "to_number": BUSY_NUMBER, "metadata": {"n": ["0" * 1001]}}
    assert_envelope(await tenant.client.post("/calls/", json=long_digits), 422, "VALIDATION_ERROR")
