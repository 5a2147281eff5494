"""``TwilioSim``: the fake Twilio in one object — REST API server, calls, media streams, the party."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Coroutine, Generator
from typing import Any

import httpx
import uvicorn
from twilio.rest import Client

from phony.sim.twilio.context import SimContext, SimTimings
from phony.sim.twilio.http_client import RedirectingHttpClient
from phony.sim.twilio.records import SimCall
from phony.sim.twilio.registry import CallRegistry
from phony.sim.twilio.resources import new_sid
from phony.sim.twilio.rest import build_rest_app
from phony.sim.twilio.stream import MediaObserver
from phony.sim.twilio.webhooks import WebhookClient

__all__ = ["TwilioSim"]

_log = logging.getLogger(__name__)


class _InProcessServer(uvicorn.Server):
    """uvicorn without its signal handlers: the host process (pytest, the CLI) owns Ctrl+C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class TwilioSim:
    """A faithful fake Twilio for one account, served in-process on ``host:port`` (0: any free port)."""

    def __init__(
        self,
        account_sid: str | None = None,
        auth_token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        observer: MediaObserver | None = None,
        timings: SimTimings | None = None,
    ) -> None:
        """Credentials default to a fresh ``AC…`` SID and random token; ``observer`` sees every frame."""
        self.account_sid = account_sid or new_sid("AC")
        self.auth_token = auth_token or uuid.uuid4().hex
        self.host = host
        self.port = port
        self.timings = timings or SimTimings()
        self.task_errors: list[BaseException] = []  # exceptions of background tasks (sim bugs)
        self._tasks: set[asyncio.Task[None]] = set()
        self._http = httpx.AsyncClient()
        self._ctx = SimContext(
            account_sid=self.account_sid,
            auth_token=self.auth_token,
            webhooks=WebhookClient(self.auth_token, self._http),
            spawn=self._spawn,
            timings=self.timings,
            observer=observer,
        )
        self.registry = CallRegistry(self._ctx)
        self.app_url: str | None = None  # the app's base URL, for calls rung through /sim/inbound-calls
        self._server: _InProcessServer | None = None
        self._serve_task: asyncio.Task[None] | None = None

    # -- running -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the REST API (the bound port once started)."""
        return f"http://{self.host}:{self.port}"

    @property
    def calls(self) -> dict[str, SimCall]:
        """Every call the sim has seen, by call SID."""
        return self.registry.calls

    async def start(self) -> None:
        """Bind the port and serve the REST API; returns once it accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        app = build_rest_app(self.registry, self.account_sid, self.auth_token, lambda: self.app_url)
        config = uvicorn.Config(
            app, log_level="warning", log_config=None, lifespan="off", timeout_graceful_shutdown=2
        )
        self._server = _InProcessServer(config)
        self._serve_task = asyncio.create_task(self._server.serve(sockets=[sock]), name="twilio-sim-rest")
        while not self._server.started:
            if self._serve_task.done():
                await self._serve_task  # re-raises the start-up failure
                raise RuntimeError("Twilio sim REST server exited during start-up")
            await asyncio.sleep(0.01)  # uvicorn offers no start-up event to await

    async def stop(self) -> None:
        """Hang up live calls (streams get ``stop``), finish background work, stop serving."""
        for controller in self.registry.live():
            controller.end("completed", "sim-stopped")
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=5)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        if self._server is not None and self._serve_task is not None:
            self._server.should_exit = True
            await self._serve_task
        await self._http.aclose()

    async def __aenter__(self) -> TwilioSim:
        """Start on entering ``async with``."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop on leaving ``async with``."""
        await self.stop()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.task_errors.append(exc)
            _log.error("Twilio sim task failed", exc_info=exc)

    # -- driving calls -------------------------------------------------------------------------

    def rest_client(self) -> Client:
        """A real ``twilio.rest.Client`` for this account, pointed at the sim (blocking calls)."""
        return Client(self.account_sid, self.auth_token, http_client=RedirectingHttpClient(self.base_url))

    async def place_inbound_call(
        self,
        from_: str,
        to: str,
        phony_base_url: str,
        scenario: str | None = None,
        path: str = "/receive_call",
        status_callback: str | None = None,
        status_callback_events: frozenset[str] = frozenset({"completed"}),
    ) -> SimCall:
        """A caller rings the app: POST (signed) ``phony_base_url + path`` and follow its TwiML.

        ``scenario`` picks the party's script, overriding any ``scenario`` stream parameter. Returns
        the call at once; the webhook and the rest of the call run in the background.
        """
        url = phony_base_url.rstrip("/") + path
        return self.registry.create_inbound(from_, to, url, scenario, status_callback, status_callback_events)

    def scenario_of_caller(self, metadata: dict[str, str]) -> str | None:
        """The script of the simulated caller behind an inbound call, by its ``from`` number (what a
        fake model needs to know what the caller will say; see ``RealtimeSim(scenario_lookup=)``)."""
        number = metadata.get("from")
        for call in reversed(list(self.calls.values())):
            if call.direction == "inbound" and call.from_ == number and call.scenario_override:
                return call.scenario_override
        return None

    def call(self, call_sid: str) -> SimCall:
        """The call with this SID (KeyError if unknown)."""
        return self.registry.calls[call_sid]

    # The brief names the argument ``timeout``; it bounds one wait, as asyncio.timeout would.
    async def wait_for_call_end(self, call_sid: str, timeout: float = 30.0) -> SimCall:  # noqa: ASYNC109
        """Wait until the call has ended and its callbacks were delivered; TimeoutError otherwise."""
        call = self.call(call_sid)
        async with asyncio.timeout(timeout):
            await call.ended.wait()
        return call

    async def wait_for_status(self, call_sid: str, status: str, timeout: float = 30.0) -> SimCall:  # noqa: ASYNC109
        """Wait until the call has had ``status`` (now or earlier); TimeoutError otherwise."""
        call = self.call(call_sid)
        async with asyncio.timeout(timeout):
            await call.status_reached(status).wait()
        return call

    async def press_digits(self, call_sid: str, digits: str) -> None:
        """The party presses ``digits`` on the call's open media stream (``dtmf`` messages)."""
        await self.registry.controllers[call_sid].press_digits(digits)

    def fail_next_updates(self, call_sid: str, count: int = 1) -> None:
        """The call's next ``count`` updates (redirects, hang-ups) answer 503 with Twilio's error
        20500, as in an outage; the call itself goes on."""
        self.registry.failing_updates[call_sid] = count

    def hang_up(self, call_sid: str) -> None:
        """The party hangs up: the stream gets ``stop`` and the call completes."""
        self.registry.controllers[call_sid].end("completed", "party-hung-up")
