"""Both SDKs hold to the server's contract, its OpenAPI document (what ``/openapi.json`` serves, built
here in-process from ``create_app``: no server needed).

What each SDK offers is read from the SDK itself, never from a list kept here: every public method
of every resource is called with only the arguments it requires and with every one it takes (Python:
also with each optional one alone, as ``tenant_id`` chooses the route), with values that fit the
server's schemas, against a recording transport that answers as the OpenAPI document says the
server would (Python: an ``httpx.MockTransport`` through ``http_client=``, sync and async clients
both; JavaScript: ``tests/sdk_contract_probe.mjs``, a fetch stub, with the methods and their types
read from the JSDoc by the TypeScript checker). Then:

* every operation of the server is reached by some method of each SDK, unless it is one of
  :data:`NOT_IN_THE_SDKS`, which must all still exist;
* every request an SDK sends is an operation of the server: its path and method, its query
  parameters declared (and their values valid), its JSON body valid against the operation's schema;
* every property of every request body and every query parameter can be sent by some method;
* every field of every response schema is a field of the SDK's model of it (Python: the pydantic
  model the answer is parsed into; JavaScript: the JSDoc typedef the method resolves with, its names
  mapped by names.js), and each method reads the documented answer without error;
* the WebSockets the SDKs open are the server's.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

import httpx
import jsonschema
import phony_client._client
import phony_client._http
import pydantic
import pytest
from phony_client import AsyncPhonyClient, PhonyClient
from phony_client._types import NotGiven
from phony_client.resources._base import AsyncResource, SyncResource
from phony_client.streaming import AsyncEventStream, EventStream
from starlette.routing import BaseRoute, WebSocketRoute

from phony.config import Settings
from phony.edge.app import create_app
from tests.support import ROOT

JS = ROOT / "clients" / "js"
PROBE = ROOT / "tests" / "sdk_contract_probe.mjs"
SDKS = ("python", "python-async", "js")
BASE_URL = "http://phony.test"

Op = tuple[str, str]  # (METHOD, path template) as the OpenAPI document has them

# Operations of the server deliberately not in the SDKs, each with why. The test fails when one of
# them no longer exists on the server (then it is removed here).
NOT_IN_THE_SDKS: dict[Op, str] = {
    ("POST", "/receive_call"): "Twilio's webhook for an inbound call (signed by Twilio), not an API",
    ("POST", "/start_call"): "Twilio fetches an outbound call's TwiML here once the callee answers",
    ("POST", "/status_callback"): "Twilio's webhook of a call's status changes",
}
# Query parameters the SDKs deliberately never send.
QUERY_NOT_IN_THE_SDKS: dict[tuple[str, str, str], str] = {
    ("GET", "/calls/{call_sid}/recording", "token"): "the key in the URL, for an <audio src> that "
    "cannot send a header; the SDKs send the Authorization header",
    ("GET", "/calls/{call_sid}/responses/{response_id}/audio", "token"): "as for the recording",
}
# WebSockets of the server (not in OpenAPI) deliberately not in the SDKs.
SOCKETS_NOT_IN_THE_SDKS: dict[str, str] = {
    "/media/ws": "Twilio's media stream of a call's audio",
}
# Methods of the clients themselves that are not API calls.
LIFECYCLE = {"close", "with_options"}


# -- the server's contract -----------------------------------------------------------------------


@dataclass
class Contract:
    spec: dict[str, Any]
    sockets: set[str]

    @property
    def operations(self) -> dict[Op, dict[str, Any]]:
        return {
            (method.upper(), path): op
            for path, item in self.spec["paths"].items()
            for method, op in item.items()
        }

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].removeprefix("#/components/schemas/")
            schema = self.spec["components"]["schemas"][name]
        return schema

    def errors(self, value: Any, schema: dict[str, Any]) -> list[str]:
        """Why ``value`` does not fit ``schema``: one line per error, where in the value first."""
        root = {"allOf": [schema], "components": self.spec["components"]}
        validator = jsonschema.Draft202012Validator(root)
        errors = validator.iter_errors(value)
        return [f"{'/'.join(map(str, e.absolute_path)) or '.'}: {e.message}" for e in errors]

    def match(self, method: str, path: str) -> Op | None:
        """The operation a request goes to (a literal segment beats a parameter, as in routing)."""
        found = [op for op in self.operations if op[0] == method and re.fullmatch(_pattern(op[1]), path)]
        return min(found, key=lambda op: op[1].count("{"), default=None)

    def query_parameters(self, op: Op) -> dict[str, dict[str, Any]]:
        params = self.operations[op].get("parameters", [])
        return {p["name"]: p["schema"] for p in params if p["in"] == "query"}

    def body_schema(self, op: Op) -> dict[str, Any] | None:
        content = self.operations[op].get("requestBody", {}).get("content", {})
        return content["application/json"]["schema"] if "application/json" in content else None

    def answer(self, op: Op) -> tuple[int, str | None, dict[str, Any] | None]:
        """The operation's success status, its content type, and the schema of its JSON body."""
        status, response = next((s, r) for s, r in self.operations[op]["responses"].items() if s[0] == "2")
        content = response.get("content", {})
        kind = next(iter(content), None)
        schema = content["application/json"].get("schema") if kind == "application/json" else None
        return int(status), kind, schema

    # - values that fit a schema -

    def sample(self, schema: dict[str, Any]) -> Any:
        """A value valid against ``schema``, with every property an object may have."""
        schema = self.resolve(schema)
        for candidate in self._candidates(schema):
            if not self.errors(candidate, schema):
                return candidate
        raise AssertionError(f"no sample value fits {schema}")

    def _candidates(self, schema: dict[str, Any]) -> Iterator[Any]:
        if "enum" in schema:
            yield from schema["enum"]
        if "const" in schema:
            yield schema["const"]
        yield from schema.get("examples", [])
        for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
            if branch.get("type") != "null":
                yield self.sample(branch)
        kind = schema.get("type")
        if kind == "string":
            if schema.get("format") == "date-time":
                yield "2030-01-01T00:00:00Z"
            yield from ("a1", "+15551234567", "en", "1#")
        elif kind in ("integer", "number"):
            yield int(schema.get("minimum", 1)) if kind == "integer" else schema.get("minimum", 0.5)
            yield 1
        elif kind == "boolean":
            yield True
        elif kind == "array":
            yield [self.sample(schema["items"])] if "items" in schema else []
        elif kind == "object" or "properties" in schema:
            yield {name: self.sample(prop) for name, prop in schema.get("properties", {}).items()}
        yield None

    def samples(self, op: Op) -> dict[str, Any]:
        """A valid value for each parameter and each (nested) body property of ``op``, by wire name:
        what an SDK method reaching ``op`` is called with. Objects are left out (the SDK builds
        them from their properties), maps (free-form objects such as ``metadata``) are not."""
        out: dict[str, Any] = {}
        for param in self.operations[op].get("parameters", []):
            out.setdefault(param["name"], self.sample(param["schema"]))

        def walk(schema: dict[str, Any]) -> None:
            schema = self.resolve(schema)
            for branch in schema.get("anyOf", []):
                walk(branch)
            for name, prop in schema.get("properties", {}).items():
                if self._properties(prop):
                    walk(prop)
                else:
                    out.setdefault(name, self.sample(prop))

        if (body := self.body_schema(op)) is not None:
            walk(body)
        return out

    def all_samples(self) -> dict[str, Any]:
        """The samples of every operation (the first one wins a name): what a method is called
        with before it is known which operation it reaches."""
        out: dict[str, Any] = {}
        for op in self.operations:
            out = self.samples(op) | out
        return out

    def _properties(self, schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The properties of an object schema (through ``$ref`` and ``anyOf``); {} for others."""
        schema = self.resolve(schema)
        found: dict[str, dict[str, Any]] = dict(schema.get("properties", {}))
        for branch in schema.get("anyOf", []):
            found.update(self._properties(branch))
        return found

    def property_paths(self, schema: dict[str, Any], prefix: str = "") -> set[str]:
        """Every property of an object schema, nested ones as ``limits.websockets``."""
        out: set[str] = set()
        for name, prop in self._properties(schema).items():
            out.add(prefix + name)
            out |= self.property_paths(prop, f"{prefix}{name}.")
        return out

    def wire_names(self) -> set[str]:
        return {
            path.rsplit(".", 1)[-1]
            for schema in self.spec["components"]["schemas"].values()
            for path in self.property_paths(schema)
        }


def _pattern(template: str) -> str:
    return "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"


def _key_paths(value: Any, prefix: str = "") -> set[str]:
    if not isinstance(value, dict):
        return set()
    out: set[str] = set()
    for key, inner in value.items():
        out.add(prefix + key)
        out |= _key_paths(inner, f"{prefix}{key}.")
    return out


@pytest.fixture(scope="module")
def contract() -> Contract:
    app = create_app(Settings(_env_file=None))
    return Contract(app.openapi(), set(_websockets(app.routes)))


def _websockets(routes: Iterable[BaseRoute]) -> Iterator[str]:
    """The paths of the app's WebSocket routes (those are not in OpenAPI), through included routers."""
    for route in routes:
        if isinstance(route, WebSocketRoute):
            yield route.path
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from _websockets(included.routes)


# -- what the SDKs send --------------------------------------------------------------------------


@dataclass
class Sent:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class Called:
    """One call of one SDK method, and what it did."""

    method: str  # e.g. "tenants.keys.create"
    variant: str  # "minimal" or "full"
    requests: list[Sent] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)
    parsed: list[tuple[Sent, Any]] = field(default_factory=list)  # Python: (request, model class)
    returns: Any = None  # JavaScript: the shape the method resolves with
    error: str | None = None


@dataclass
class Recording:
    calls: list[Called]
    camel: dict[str, str] = field(default_factory=dict)  # JavaScript: wire name -> SDK name

    def requests(self) -> Iterator[tuple[Called, Sent]]:
        for call in self.calls:
            for sent in call.requests:
                yield call, sent


def _answer(contract: Contract, request: httpx.Request) -> httpx.Response:
    op = contract.match(request.method, request.url.path)
    if op is None:
        return httpx.Response(404, json={"error": {"code": "not_found", "message": "no such route"}})
    status, kind, schema = contract.answer(op)
    if kind == "application/json":
        return httpx.Response(status, json=contract.sample(schema or {}))
    if kind is not None:
        return httpx.Response(status, content=b"RIFF", headers={"Content-Type": kind})
    return httpx.Response(status)


def _sent(request: httpx.Request) -> Sent:
    body = json.loads(request.content) if request.content else None
    return Sent(request.method, request.url.path, dict(request.url.params), body)


def _parts(annotation: Any) -> list[Any]:
    """The types a (union, optional, annotated) annotation admits, NotGiven and None left out."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _parts(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return [part for arg in get_args(annotation) for part in _parts(arg)]
    return [] if annotation in (NotGiven, NoneType) else [annotation]


def _py_value(name: str, annotation: Any, samples: dict[str, Any], scratch: Path) -> Any:
    """A value for the Python parameter ``name``: the operation's sample under its wire name
    (``call_sid`` is sent as ``callSid``), else one of its type."""
    parts = _parts(annotation)
    camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)
    models = [p for p in parts if inspect.isclass(p) and issubclass(p, pydantic.BaseModel)]
    if models:
        model = models[0]
        fields = {
            f.alias or n: _py_value(f.alias or n, f.annotation, samples, scratch)
            for n, f in model.model_fields.items()
        }
        return model.model_validate(fields)
    for key in (name, camel):
        if key in samples:
            return samples[key]
    first = parts[0]
    if Path in parts:
        return scratch / f"{name}.bin"
    if get_origin(first) is Literal:
        return get_args(first)[0]
    if get_origin(first) is list:
        return [_py_value(name, get_args(first)[0], samples, scratch)]
    if get_origin(first) is dict or first is dict:
        return {}
    fallbacks: dict[Any, Any] = {
        str: f"{name}-1",
        bool: True,
        int: 1,
        float: 0.5,
        datetime: datetime(2030, 1, 1, tzinfo=UTC),
    }
    return fallbacks[first]


def _py_resources(root: object, prefix: str = "") -> Iterator[tuple[str, object]]:
    yield prefix, root
    for name, value in vars(root).items():
        if isinstance(value, SyncResource | AsyncResource):
            yield from _py_resources(value, f"{prefix}{name}.")


def _py_methods(root: object) -> Iterator[tuple[str, Callable[..., Any]]]:
    """Every public method of the client and of its resources (``tenants.keys.create``)."""
    for prefix, obj in _py_resources(root):
        for name, _ in inspect.getmembers(type(obj), inspect.isfunction):
            if name.startswith("_") or (obj is root and name in LIFECYCLE):
                continue
            yield prefix + name, getattr(obj, name)


def _variants(fn: Callable[..., Any]) -> list[str]:
    """How a method is called: with what it requires, then with each optional parameter alone (a
    parameter may choose the route, as ``tenant_id`` does), then with every parameter."""
    optional = [
        n for n, p in inspect.signature(fn).parameters.items() if p.default is not inspect.Parameter.empty
    ]
    return ["minimal", *(f"+{name}" for name in optional), "full"]


def _arguments(
    fn: Callable[..., Any], variant: str, samples: dict[str, Any], scratch: Path
) -> tuple[list[Any], dict[str, Any]]:
    hints = get_type_hints(fn)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for name, param in inspect.signature(fn).parameters.items():
        if param.default is not inspect.Parameter.empty and variant not in ("full", f"+{name}"):
            continue
        value = _py_value(name, hints[name], samples, scratch)
        if param.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[name] = value
        else:
            args.append(value)
    return args, kwargs


def _stream_path(stream: EventStream | AsyncEventStream) -> str:
    return urlsplit(stream._url()).path


def _record_python(contract: Contract, scratch: Path, run_async: bool) -> Recording:
    current: list[Called] = []

    def handler(request: httpx.Request) -> httpx.Response:
        current[-1].requests.append(_sent(request))
        return _answer(contract, request)

    original = phony_client._http.parse

    def parse(model: type[Any], response: httpx.Response) -> Any:
        current[-1].parsed.append((_sent(response.request), model))
        return original(model, response)

    everywhere = contract.all_samples()

    async def call_all_async() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            client = AsyncPhonyClient(BASE_URL, "pk_probe", max_retries=0, http_client=http)
            for name, fn in _py_methods(client):
                samples = everywhere
                for variant in _variants(fn):
                    current.append(Called(name, variant))
                    args, kwargs = _arguments(fn, variant, samples, scratch)
                    try:
                        result = fn(*args, **kwargs)
                        if inspect.isawaitable(result):
                            result = await result
                        if isinstance(result, AsyncEventStream):
                            current[-1].sockets.append(_stream_path(result))
                        elif isinstance(result, AsyncIterator):
                            _ = [item async for item in result]
                    except Exception as exc:
                        current[-1].error = f"{type(exc).__name__}: {exc}"
                    if variant == "minimal":
                        samples = everywhere | _samples_after(contract, current[-1])

    def call_all_sync() -> None:
        with httpx.Client(transport=httpx.MockTransport(handler)) as http:
            client = PhonyClient(BASE_URL, "pk_probe", max_retries=0, http_client=http)
            for name, fn in _py_methods(client):
                samples = everywhere
                for variant in _variants(fn):
                    current.append(Called(name, variant))
                    args, kwargs = _arguments(fn, variant, samples, scratch)
                    try:
                        result = fn(*args, **kwargs)
                        if isinstance(result, EventStream):
                            current[-1].sockets.append(_stream_path(result))
                        elif isinstance(result, Iterator):
                            _ = list(result)
                    except Exception as exc:
                        current[-1].error = f"{type(exc).__name__}: {exc}"
                    if variant == "minimal":
                        samples = everywhere | _samples_after(contract, current[-1])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(phony_client._http, "parse", parse)
        patch.setattr(phony_client._client, "parse", parse)
        if run_async:
            asyncio.run(call_all_async())
        else:
            call_all_sync()
    return Recording(current)


def _samples_after(contract: Contract, call: Called) -> dict[str, Any]:
    """The samples of the operation a minimal call reached: what its full call is given."""
    op = contract.match(call.requests[-1].method, call.requests[-1].path) if call.requests else None
    return contract.samples(op) if op else {}


def _record_js(contract: Contract) -> Recording:
    node = shutil.which("node")
    assert node is not None, "node is not installed: the JavaScript SDK needs Node.js 20+"
    ops = sorted(contract.operations, key=lambda op: op[1].count("{"))
    responses = []
    for op in ops:
        status, kind, schema = contract.answer(op)
        entry: dict[str, Any] = {
            "method": op[0],
            "pattern": _pattern(op[1]),
            "status": status,
            "samples": contract.samples(op),
        }
        if kind == "application/json":
            entry["json"] = contract.sample(schema or {})
        elif kind is not None:
            entry["bytes"] = "RIFF"
        responses.append(entry)
    stdin = json.dumps(
        {
            "responses": responses,
            "samples": contract.all_samples(),
            "wireNames": sorted(contract.wire_names()),
        }
    )
    done = subprocess.run(
        [node, str(PROBE), str(JS)], input=stdin, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    returns = _js_returns(out["api"])
    calls = [
        Called(
            c["method"],
            c["variant"],
            requests=[Sent(r["method"], r["path"], r["query"], r["body"]) for r in c["requests"]],
            sockets=c["sockets"],
            returns=returns.get(c["method"]),
            error=c["error"],
        )
        for c in out["calls"]
    ]
    return Recording(calls, out["camel"])


def _js_returns(api: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, entry in api.items():
        if entry.get("kind") == "resource":
            out |= _js_returns(entry["methods"], f"{prefix}{name}.")
            continue
        out[prefix + name] = entry["returns"]
        if entry["returns"].get("kind") == "resource":
            out |= _js_returns(entry["returns"]["methods"], f"{prefix}{name}().")
    return out


@pytest.fixture(scope="module")
def recordings(
    contract: Contract, tmp_path_factory: pytest.TempPathFactory, js_sdk: None
) -> dict[str, Recording]:
    scratch = tmp_path_factory.mktemp("sdk-contract")
    return {
        "python": _record_python(contract, scratch, run_async=False),
        "python-async": _record_python(contract, scratch, run_async=True),
        "js": _record_js(contract),
    }


def _reached(contract: Contract, recording: Recording) -> dict[Op, list[tuple[Called, Sent]]]:
    out: dict[Op, list[tuple[Called, Sent]]] = {}
    for call, sent in recording.requests():
        if (op := contract.match(sent.method, sent.path)) is not None:
            out.setdefault(op, []).append((call, sent))
    return out


# -- the tests -----------------------------------------------------------------------------------


def test_the_operations_left_out_of_the_sdks_are_operations_of_the_server(contract: Contract) -> None:
    gone = [op for op in NOT_IN_THE_SDKS if op not in contract.operations]
    assert not gone, f"listed as left out of the SDKs, but not on the server (any more): {gone}"
    gone_params = [key for key in QUERY_NOT_IN_THE_SDKS if key[2] not in contract.query_parameters(key[:2])]
    assert not gone_params, f"listed query parameters the server no longer has: {gone_params}"
    gone_sockets = [path for path in SOCKETS_NOT_IN_THE_SDKS if path not in contract.sockets]
    assert not gone_sockets, f"listed WebSockets the server no longer has: {gone_sockets}"


@pytest.mark.parametrize("sdk", SDKS)
def test_every_operation_of_the_server_is_a_method_of_the_sdk(
    sdk: str, contract: Contract, recordings: dict[str, Recording]
) -> None:
    reached = _reached(contract, recordings[sdk])
    missing = sorted(set(contract.operations) - set(reached) - set(NOT_IN_THE_SDKS))
    assert not missing, f"{sdk}: no method sends these operations of the server: {missing}"
    listed_but_sent = sorted(set(reached) & set(NOT_IN_THE_SDKS))
    assert not listed_but_sent, f"{sdk} sends operations listed as left out of it: {listed_but_sent}"


@pytest.mark.parametrize("sdk", SDKS)
def test_every_request_the_sdk_sends_is_an_operation_of_the_server(
    sdk: str, contract: Contract, recordings: dict[str, Recording]
) -> None:
    unknown = [
        f"{call.method} ({call.variant}): {sent.method} {sent.path}"
        for call, sent in recordings[sdk].requests()
        if contract.match(sent.method, sent.path) is None
    ]
    assert not unknown, f"{sdk} sends requests the server does not define: {unknown}"


@pytest.mark.parametrize("sdk", SDKS)
def test_the_query_parameters_the_sdk_sends_are_declared_and_valid(
    sdk: str, contract: Contract, recordings: dict[str, Recording]
) -> None:
    problems = []
    for op, sends in _reached(contract, recordings[sdk]).items():
        declared = contract.query_parameters(op)
        for call, sent in sends:
            for name, text in sent.query.items():
                if name not in declared:
                    problems.append(f"{call.method}: {op} has no query parameter {name!r}")
                    continue
                value = text if declared[name].get("type") == "string" else _json_or_text(text)
                problems += [
                    f"{call.method}: {name}={text!r}: {e}" for e in contract.errors(value, declared[name])
                ]
    assert not problems, f"{sdk}: {problems}"


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


@pytest.mark.parametrize("sdk", SDKS)
def test_the_bodies_the_sdk_sends_fit_the_operations_schema(
    sdk: str, contract: Contract, recordings: dict[str, Recording]
) -> None:
    problems = []
    for op, sends in _reached(contract, recordings[sdk]).items():
        schema = contract.body_schema(op)
        for call, sent in sends:
            if schema is None:
                if sent.body is not None:
                    problems.append(f"{call.method}: {op} takes no body, sent {sent.body!r}")
                continue
            if sent.body is None and contract.operations[op]["requestBody"].get("required"):
                problems.append(f"{call.method}: {op} requires a body, sent none")
                continue
            errors = contract.errors(sent.body, schema)
            problems += [f"{call.method} ({call.variant}) {op}: {e}" for e in errors]
    assert not problems, f"{sdk}: {problems}"


@pytest.mark.parametrize("sdk", SDKS)
def test_every_property_of_every_request_body_can_be_sent(
    sdk: str, contract: Contract, recordings: dict[str, Recording]
) -> None:
    missing = []
    for op, sends in _reached(contract, recordings[sdk]).items():
        if (schema := contract.body_schema(op)) is None:
            continue
        sent = set().union(*(_key_paths(s.body) for _, s in sends))
        missing += [f"{op}: {path}" for path in sorted(contract.property_paths(schema) - sent)]
    assert not missing, f"{sdk}: no method can send these body properties: {missing}"


@pytest.mark.parametrize("sdk", SDKS)
def test_every_query_parameter_can_be_sent(
    sdk: str, contract: Contract, recordings: dict[str, Recording]
) -> None:
    missing = []
    for op, sends in _reached(contract, recordings[sdk]).items():
        sent = set().union(*(s.query.keys() for _, s in sends))
        declared = set(contract.query_parameters(op))
        left_out = {name for (m, p, name) in QUERY_NOT_IN_THE_SDKS if (m, p) == op}
        missing += [f"{op}: {name}" for name in sorted(declared - sent - left_out)]
    assert not missing, f"{sdk}: no method can send these query parameters: {missing}"


Problem = tuple[str, str]  # ("missing" | "not nullable", where and what)


def _response_problems(sdk: str, contract: Contract, recording: Recording) -> tuple[set[Problem], set[Op]]:
    """How the SDK's models of the answers fall short of the response schemas, and which
    operations' answers were compared to a model."""
    problems: set[Problem] = set()
    checked: set[Op] = set()
    for call in recording.calls:
        if sdk.startswith("python"):
            pairs = list(call.parsed)
        elif call.returns is not None and len(call.requests) == 1:
            pairs = [(call.requests[0], call.returns)]
        else:
            continue
        for sent, model in pairs:
            op = contract.match(sent.method, sent.path)
            if op is None or (schema := contract.answer(op)[2]) is None:
                continue
            if sdk == "js" and model.get("kind") in ("iterator", "function", "void", "bytes", "resource"):
                continue
            checked.add(op)
            where = f"{call.method} <- {op[0]} {op[1]}: "
            if sdk.startswith("python"):
                found = _model_problems(contract, schema, model, "")
            else:
                found = _shape_problems(contract, schema, model, "", recording.camel)
            problems |= {(kind, where + what) for kind, what in found}
    return problems, checked


@pytest.mark.parametrize("sdk", SDKS)
def test_every_field_of_every_response_is_in_the_sdks_model_of_it(
    sdk: str, contract: Contract, recordings: dict[str, Recording]
) -> None:
    problems, checked = _response_problems(sdk, contract, recordings[sdk])
    json_ops = {op for op in contract.operations if contract.answer(op)[1] == "application/json"}
    unchecked = sorted(json_ops - checked - set(NOT_IN_THE_SDKS))
    assert not unchecked, f"{sdk}: no method returns a model of these operations' answers: {unchecked}"
    missing = sorted(what for kind, what in problems if kind == "missing")
    assert not missing, f"{sdk}: fields of the server's answers its models lack: {missing}"


@pytest.mark.parametrize("sdk", SDKS)
def test_every_field_the_server_may_send_as_null_is_nullable_in_the_sdks_model(
    sdk: str, contract: Contract, recordings: dict[str, Recording]
) -> None:
    problems, _ = _response_problems(sdk, contract, recordings[sdk])
    strict = sorted(what for kind, what in problems if kind == "not nullable")
    assert not strict, f"{sdk}: fields the server may send as null, never null in its models: {strict}"


def _nullable(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(b.get("type") == "null" for b in schema.get("anyOf", []))


def _admits_none(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _admits_none(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return any(_admits_none(arg) for arg in get_args(annotation))
    return annotation in (NoneType, Any)


def _model_problems(contract: Contract, schema: dict[str, Any], annotation: Any, where: str) -> list[Problem]:
    """Properties of ``schema`` (recursively) that the pydantic model(s) of ``annotation`` lack, or
    type as never null where the schema admits null."""
    schema = contract.resolve(schema)
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    if branches:
        return [m for b in branches for m in _model_problems(contract, b, annotation, where)]
    parts = _parts(annotation)
    if schema.get("type") == "array" and "items" in schema:
        items = [get_args(p)[0] for p in parts if get_origin(p) is list]
        return [m for item in items for m in _model_problems(contract, schema["items"], item, where + "[]")]
    properties = schema.get("properties", {})
    if not properties:
        return []
    models = [p for p in parts if inspect.isclass(p) and issubclass(p, pydantic.BaseModel)]
    if not models:
        return [("missing", f"{where or '(body)'}: no model (annotation {annotation!r})")]
    out: list[Problem] = []
    for model in models:
        fields = {f.alias or n: f for n, f in model.model_fields.items()}
        for name, prop in properties.items():
            if name not in fields:
                out.append(("missing", f"{model.__name__} lacks {where}{name}"))
                continue
            if _nullable(contract.resolve(prop)) and not _admits_none(fields[name].annotation):
                out.append(("not nullable", f"{model.__name__}.{where}{name}: {fields[name].annotation}"))
            out += _model_problems(contract, prop, fields[name].annotation, f"{where}{name}.")
    return out


def _shape_problems(
    contract: Contract, schema: dict[str, Any], shape: dict[str, Any], where: str, camel: dict[str, str]
) -> list[Problem]:
    """Properties of ``schema`` (recursively) that the JSDoc typedef ``shape`` lacks, or types as
    never null where the schema admits null; a wire name ``n`` is looked for as names.js hands it
    to the user (``camel[n]``)."""
    schema = contract.resolve(schema)
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    if branches:
        return [m for b in branches for m in _shape_problems(contract, b, shape, where, camel)]
    members = shape["members"] if shape.get("kind") == "union" else [shape]
    if schema.get("type") == "array" and "items" in schema:
        items = [m["items"] for m in members if m.get("kind") == "array"]
        return [
            x for item in items for x in _shape_problems(contract, schema["items"], item, where + "[]", camel)
        ]
    properties = schema.get("properties", {})
    if not properties:
        return []
    objects = [m for m in members if m.get("kind") == "object"]
    if not objects:
        return [("missing", f"{where or '(body)'}: no typedef (a {shape.get('kind')})")]
    out: list[Problem] = []
    for obj in objects:
        for name, prop in properties.items():
            js_name = camel.get(name, name)
            if js_name not in obj["props"]:
                out.append(("missing", f"lacks {where}{js_name} (wire: {name})"))
                continue
            field_shape = obj["props"][js_name]
            admits_null = field_shape.get("nullable") or field_shape["kind"] == "any"
            if _nullable(contract.resolve(prop)) and not admits_null:
                out.append(("not nullable", f"{where}{js_name} (wire: {name})"))
            out += _shape_problems(contract, prop, field_shape, f"{where}{js_name}.", camel)
    return out


@pytest.mark.parametrize("sdk", SDKS)
def test_every_method_reads_the_answers_the_server_documents(
    sdk: str, contract: Contract, recordings: dict[str, Recording]
) -> None:
    failed = [f"{c.method} ({c.variant}): {c.error}" for c in recordings[sdk].calls if c.error]
    assert not failed, f"{sdk}: methods failed on the server's documented answers: {failed}"


@pytest.mark.parametrize("sdk", SDKS)
def test_the_websockets_the_sdk_opens_are_the_servers(
    sdk: str, contract: Contract, recordings: dict[str, Recording]
) -> None:
    opened = {path for call in recordings[sdk].calls for path in call.sockets}
    assert opened, f"{sdk} opens no WebSocket (its event streams were not found)"
    assert opened <= contract.sockets, f"{sdk} opens WebSockets the server lacks: {opened - contract.sockets}"
    unused = contract.sockets - opened - set(SOCKETS_NOT_IN_THE_SDKS)
    assert not unused, f"{sdk} opens none of these WebSockets of the server: {unused}"
