"""The JavaScript SDK's directory and its dependencies, for every test that runs it (its own Node
tests, the SDK contract): ``npm ci`` once per lock file, Node run without blocking the event loop."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil

from tests.support import ROOT

JS = ROOT / "clients" / "js"
STAMP = JS / "node_modules" / ".phony-installed"
INSTALL_TIMEOUT_S = 300


async def run_in_js(args: list[str], env: dict[str, str], limit_s: float) -> tuple[int, str]:
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


async def install_js_sdk() -> None:
    """The SDK's dependencies installed by ``npm ci`` (nothing to do while ``node_modules`` holds what
    the lock file says: a stamp of its hash). Raises ``AssertionError`` when Node or npm is missing
    or the install fails."""
    for tool in ("node", "npm"):
        assert shutil.which(tool), f"{tool} is not installed: the JavaScript SDK needs Node.js 20+ and npm"
    lock = hashlib.sha256((JS / "package-lock.json").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == lock:
        return
    code, output = await run_in_js(["npm", "ci", "--no-audit", "--no-fund"], {}, INSTALL_TIMEOUT_S)
    assert code == 0, f"npm ci failed in {JS}:\n{output}"
    STAMP.write_text(lock)
