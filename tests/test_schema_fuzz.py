"""Schemathesis over the session Phony's own ``/openapi.json`` (SPEC §2, §7 "no input gets a 5xx"):
every operation, once with a tenant key and once with the operator key, in schemathesis' examples,
coverage (each field's boundaries and each way to break it) and fuzzing (positive and negative
data) phases. No answer is a 5xx, every error is in the envelope, every status, content type and
body is one the document gives for that operation, what the schema allows is not refused as
invalid and what it does not allow is refused.

Bounded and reproducible: ``EXAMPLES`` fuzzed examples per operation and mode, a fixed seed,
derandomized generation; the coverage phase's cases come on top (a fixed set per operation). The
session Phony runs it in about half a minute per key on two cores. Every distinct failure of a run
is listed, not only the first.

(Schemathesis' own pytest integration does not run on this pytest; its engine, which its CLI
runs, is driven here directly.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import engine
from schemathesis.engine import Status, events

from tests.conftest import new_tenant
from tests.support import ADMIN_KEY, PhonyProcess, TenantHandle

EXAMPLES = 25
SEED = 20261201
PHASES = ["examples", "coverage", "fuzzing"]
UNLIMITED = {"agents_per_minute": 100_000, "calls_per_minute": 100_000}


def _is_envelope(body: object) -> bool:
    if not isinstance(body, dict) or set(body) != {"error"}:
        return False
    error = body["error"]
    return (
        isinstance(error, dict)
        and set(error) == {"code", "message", "details"}
        and isinstance(error["code"], str)
        and isinstance(error["message"], str)
        and bool(error["code"] and error["message"])
        and isinstance(error["details"], dict)
    )


@schemathesis.check
def error_envelope(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """Every error body is ``{"error": {"code", "message", "details"}}`` (SPEC §2)."""
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = None
        assert _is_envelope(body), f"not the error envelope: {response.text[:300]}"
    return None


CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",  # what the schema allows is not refused as invalid (400/422)
    "negative_data_rejection",  # what it does not allow is refused
    error_envelope.__name__,
]


@dataclass
class Run:
    """What one key's run did: operations, requests sent, and each distinct failure once."""

    operations: set[str] = field(default_factory=set)
    requests: int = 0
    failures: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        return f"{len(self.operations)} operations, {self.requests} requests, {len(self.failures)} failures"

    def record(self, event: events.EngineEvent) -> None:
        if isinstance(event, events.ScenarioFinished) and event.label:
            self.operations.add(event.label)
            self.requests += len(event.recorder.interactions)
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.status is Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        case = event.recorder.cases[case_id].value
                        self.failures.setdefault(
                            f"{event.label} [{check.name}] {failure.title}",
                            f"{failure.message}\n{case.as_curl_command()}",
                        )
        elif isinstance(event, events.NonFatalError):
            self.failures.setdefault(f"{event.label}: error {type(event.value).__name__}", repr(event.value))
        elif isinstance(event, events.FatalError):
            self.failures.setdefault(f"fatal {type(event.exception).__name__}", repr(event.exception))


def fuzz(url: str, key: str) -> Run:
    """Every operation of ``url``'s schema through ``PHASES`` with ``key``."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    config = schema.config
    config.update(base_url=url, headers={"Authorization": f"Bearer {key}"})
    config.generation.update(max_examples=EXAMPLES, deterministic=True)
    config.phases.update(phases=PHASES)
    config.checks.update(included_check_names=CHECKS)
    config.seed = SEED
    run = Run()
    for event in engine.from_schema(schema).execute():
        run.record(event)
    return run


@pytest.fixture(scope="module")
async def fuzz_tenant(admin: httpx.AsyncClient) -> AsyncIterator[TenantHandle]:
    """A tenant no rate limit stops: the run is about answers, not about 429 (which is documented)."""
    handle = await new_tenant(admin, "fuzz")
    r = await admin.patch(f"/tenants/{handle.id}", json={"limits": UNLIMITED})
    assert r.status_code == 200, r.text
    async with handle.client:
        yield handle


@pytest.mark.timeout(600)
@pytest.mark.parametrize("who", ["tenant", "operator"])
async def test_every_operation_answers_as_documented_and_never_5xx(
    who: str, phony: PhonyProcess, fuzz_tenant: TenantHandle
) -> None:
    # In a thread: the simulated Twilio that the calls it places dial answers on this event loop.
    run = await asyncio.to_thread(fuzz, phony.url, fuzz_tenant.key if who == "tenant" else ADMIN_KEY)
    print(f"schemathesis with the {who} key: {run.summary()}")
    assert len(run.operations) >= 30
    assert run.requests >= 30 * EXAMPLES
    assert not run.failures, (
        run.summary() + "\n\n" + "\n\n".join(f"{k}\n{v}" for k, v in run.failures.items())
    )
