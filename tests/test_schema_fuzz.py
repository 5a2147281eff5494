"""Schemathesis over the session Phony's own ``/openapi.json`` (SPEC §2, §7 "no input gets a 5xx"):
every operation, with data its schema allows and data it does not, once with a tenant key and once
with the operator key. No answer is a 5xx, every error is in the envelope, and every status, content
type and body is one the document gives for that operation.

Bounded and reproducible: ``EXAMPLES`` examples per operation and generation mode (positive:
data the schema allows; negative: data it does not), derandomized, no example database, no
shrinking. Every distinct failure of a run is listed, not only the first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import new_tenant
from tests.support import ADMIN_KEY, PhonyProcess, TenantHandle

Case = schemathesis.Case[Any]
EXAMPLES = 25
UNLIMITED = {"agents_per_minute": 100_000, "calls_per_minute": 100_000}
SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],  # no shrinking: every failure is listed
    suppress_health_check=list(hypothesis.HealthCheck),
)


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


def error_envelope(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Case
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
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    positive_data_acceptance,  # what the schema allows is not refused as invalid (400/422)
    negative_data_rejection,  # what it does not allow is refused
    error_envelope,
]


@dataclass
class Run:
    """What one key's run did: operations, examples sent, and each distinct failure once."""

    operations: int = 0
    examples: int = 0
    failures: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        return f"{self.operations} operations, {self.examples} examples, {len(self.failures)} failures"


def _examples(
    operation: schemathesis.APIOperation[Any, Any, Any, Any],
    mode: schemathesis.GenerationMode,
    key: str,
    run: Run,
) -> Callable[[], None]:
    """A Hypothesis test sending ``operation`` cases of ``mode`` with ``key``, noting failures in ``run``."""
    headers = {"Authorization": f"Bearer {key}"}
    label = f"{operation.label} ({mode.value})"

    @SETTINGS
    @hypothesis.given(operation.as_strategy(generation_mode=mode, headers=headers))
    def send(case: Case) -> None:
        run.examples += 1
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except (FailureGroup, AssertionError) as failure:
            run.failures.setdefault(f"{label}: {str(failure).strip()[:80]}", str(failure))

    return send


def fuzz(schema: schemathesis.BaseSchema, key: str) -> Run:
    """Every operation of ``schema``, in both generation modes, with ``key``."""
    run = Run()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        run.operations += 1
        for mode in schemathesis.GenerationMode:
            try:
                _examples(result.ok(), mode, key, run)()
            except hypothesis.errors.Unsatisfiable:  # nothing to make invalid (GET /healthz)
                assert mode is schemathesis.GenerationMode.NEGATIVE, result.ok().label
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
def test_every_operation_answers_as_documented_and_never_5xx(
    who: str, phony: PhonyProcess, fuzz_tenant: TenantHandle
) -> None:
    schema = schemathesis.openapi.from_url(f"{phony.url}/openapi.json")
    schema.config.update(base_url=phony.url)
    run = fuzz(schema, fuzz_tenant.key if who == "tenant" else ADMIN_KEY)
    print(f"schemathesis with the {who} key: {run.summary()}")
    assert run.operations >= 30
    assert not run.failures, run.summary() + "\n\n" + "\n\n".join(run.failures.values())
