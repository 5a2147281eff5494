"""The JavaScript SDK (``clients/js``, npm package ``phony-client``): its types check with ``tsc``, and
its Node tests (``clients/js/test/*.test.js``, Node's own runner) pass against the session's Phony,
whose simulated Twilio and model run in this process. That is why Node runs as an asyncio
subprocess: the event loop must keep serving the simulators while the Node tests place calls."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil

import pytest

from tests.support import ADMIN_KEY, ROOT, PhonyProcess, TenantHandle

JS = ROOT / "clients" / "js"
STAMP = JS / "node_modules" / ".phony-installed"
INSTALL_TIMEOUT_S = 300
NODE_SUITE_TIMEOUT_S = 540


async def _run(args: list[str], env: dict[str, str], limit_s: float) -> tuple[int, str]:
    """Run ``args`` in ``clients/js`` without blocking the event loop; its exit code and output."""
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=JS,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), limit_s)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
        raise AssertionError(
            f"{' '.join(args)} still running after {limit_s}s:\n{output.decode(errors='replace')}"
        ) from None
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


@pytest.fixture(scope="module")
async def js_sdk() -> None:
    """The SDK's dependencies installed by ``npm ci``, once: skipped while ``node_modules`` holds what
    the lock file says (a stamp of its hash)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: the JavaScript SDK's tests need Node.js 20+ and npm")
    lock = hashlib.sha256((JS / "package-lock.json").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == lock:
        return
    code, output = await _run(["npm", "ci", "--no-audit", "--no-fund"], {}, INSTALL_TIMEOUT_S)
    if code != 0:
        pytest.fail(f"npm ci failed in {JS}:\n{output}")
    STAMP.write_text(lock)


async def test_js_sdk_type_checks_and_builds_its_declarations(js_sdk: None) -> None:
    tsc = str(JS / "node_modules" / ".bin" / "tsc")
    # Declarations first: test/types.ts imports the package, whose types are dist/*.d.ts (a dist/
    # left from older sources would fail the check, or pass it, for the wrong reason).
    code, output = await _run([tsc, "-p", "tsconfig.build.json"], {}, 120)
    assert code == 0, f"building dist/*.d.ts failed:\n{output}"
    assert (JS / "dist" / "index.d.ts").exists()
    code, output = await _run([tsc, "--noEmit"], {}, 120)
    assert code == 0, f"tsc --noEmit failed:\n{output}"


@pytest.mark.timeout(NODE_SUITE_TIMEOUT_S + 30)
async def test_js_sdk_node_tests_pass_against_phony(
    js_sdk: None, phony: PhonyProcess, tenant: TenantHandle
) -> None:
    files = sorted(str(p.relative_to(JS)) for p in (JS / "test").glob("*.test.js"))
    assert files, "no Node tests found in clients/js/test"
    env = {"PHONY_BASE_URL": phony.url, "PHONY_API_KEY": tenant.key, "PHONY_ADMIN_KEY": ADMIN_KEY}
    code, output = await _run(["node", "--test", *files], env, NODE_SUITE_TIMEOUT_S)
    assert code == 0, f"Node tests of the JavaScript SDK failed:\n{output}\n--- phony log ---\n{phony.tail()}"
