"""The JavaScript SDK (``clients/js``, npm package ``phony-client``): its types check with ``tsc``, and
its Node tests (``clients/js/test/*.test.js``, Node's own runner) pass against the session's Phony,
whose simulated Twilio and model run in this process. That is why Node runs as an asyncio
subprocess: the event loop must keep serving the simulators while the Node tests place calls."""

from __future__ import annotations

import pytest

from tests.js_sdk import JS, run_in_js
from tests.support import ADMIN_KEY, PhonyProcess, TenantHandle

NODE_SUITE_TIMEOUT_S = 540


async def test_js_sdk_type_checks_and_builds_its_declarations(js_sdk: None) -> None:
    tsc = str(JS / "node_modules" / ".bin" / "tsc")
    # Declarations first: test/types.ts imports the package, whose types are dist/*.d.ts (a dist/
    # left from older sources would fail the check, or pass it, for the wrong reason).
    code, output = await run_in_js([tsc, "-p", "tsconfig.build.json"], {}, 120)
    assert code == 0, f"building dist/*.d.ts failed:\n{output}"
    assert (JS / "dist" / "index.d.ts").exists()
    code, output = await run_in_js([tsc, "--noEmit"], {}, 120)
    assert code == 0, f"tsc --noEmit failed:\n{output}"


@pytest.mark.timeout(NODE_SUITE_TIMEOUT_S + 30)
async def test_js_sdk_node_tests_pass_against_phony(
    js_sdk: None, phony: PhonyProcess, tenant: TenantHandle
) -> None:
    files = sorted(str(p.relative_to(JS)) for p in (JS / "test").glob("*.test.js"))
    assert files, "no Node tests found in clients/js/test"
    env = {"PHONY_BASE_URL": phony.url, "PHONY_API_KEY": tenant.key, "PHONY_ADMIN_KEY": ADMIN_KEY}
    code, output = await run_in_js(["node", "--test", *files], env, NODE_SUITE_TIMEOUT_S)
    assert code == 0, f"Node tests of the JavaScript SDK failed:\n{output}\n--- phony log ---\n{phony.tail()}"
