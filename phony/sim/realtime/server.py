"""The fake OpenAI Realtime server: ``GET /v1/realtime?model=…`` over WebSocket on 127.0.0.1.

Point the real ``openai`` client at it with ``base_url`` / ``websocket_base_url``; it authenticates
like the API (``Authorization: Bearer <key>``) and speaks the GA protocol.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from phony.sim.realtime.codec import SpeechCache
from phony.sim.realtime.events import ServerEvents
from phony.sim.realtime.options import Observer, ScenarioLookup, SimOptions
from phony.sim.realtime.parsing import ClientError
from phony.sim.realtime.session import RealtimeSession

REALTIME_PATH = "/v1/realtime"
DEFAULT_MODEL = "gpt-realtime"
# What api.openai.com does with a bad key: it accepts the upgrade, sends an error event, then
# closes with this application code and reason.
AUTH_CLOSE_CODE = 3000
AUTH_CLOSE_REASON = "invalid_request_error.invalid_api_key"
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # the API takes appends of up to 15 MiB of audio


def _bearer_key(headers: Headers) -> str | None:
    value = headers.get("Authorization")
    if value is None or not value.startswith("Bearer "):
        return None
    return value.removeprefix("Bearer ").strip()


class RealtimeSim:
    """A fake OpenAI Realtime API whose model follows the scenario scripts of ``phony.sim.scenarios``.

    ``sessions`` lists every connection's :class:`RealtimeSession` (live, in connection order).
    Use ``async with RealtimeSim() as sim:`` or ``await sim.start()`` / ``await sim.stop()``.
    """

    def __init__(
        self,
        api_key: str = "sk-sim",
        host: str = "127.0.0.1",
        port: int = 0,
        response_delay_ms: int = 150,
        audio_chunk_ms: int = 100,
        observer: Observer | None = None,
        stream_speed: float = 4.0,
        scenario_lookup: ScenarioLookup | None = None,
    ) -> None:
        self.api_key = api_key
        self.host = host
        self._requested_port = port
        self.options = SimOptions(response_delay_ms, audio_chunk_ms, stream_speed, observer, scenario_lookup)
        self._speech = SpeechCache()
        self._server: Server | None = None
        self.sessions: list[RealtimeSession] = []
        self._busy = 0  # handshakes still to refuse with 503, as an overloaded server does
        self.refused = 0

    @property
    def port(self) -> int:
        """The bound port (known once started)."""
        if self._server is None:
            raise RuntimeError("RealtimeSim is not started")
        port: int = next(iter(self._server.sockets)).getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        """``base_url`` for ``AsyncOpenAI``."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def websocket_base_url(self) -> str:
        """``websocket_base_url`` for ``AsyncOpenAI``."""
        return f"ws://{self.host}:{self.port}/v1"

    async def start(self) -> None:
        """Listen for connections."""
        if self._server is not None:
            return
        self._server = await serve(
            self._serve,
            self.host,
            self._requested_port,
            process_request=self._check_path,
            max_size=MAX_MESSAGE_BYTES,
            # The API sends no subprotocol and negotiates no compression for server-side clients.
            compression=None,
        )

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> RealtimeSim:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def session(self, session_id: str) -> RealtimeSession:
        """The session with that id (``KeyError`` if none)."""
        for s in self.sessions:
            if s.id == session_id:
                return s
        raise KeyError(session_id)

    def refuse_next(self, count: int) -> None:
        """Answer the next ``count`` handshakes ``503 Service Unavailable`` (a busy server)."""
        self._busy += count

    def stop_refusing(self) -> None:
        """Forget the refusals :meth:`refuse_next` asked for and nobody used up."""
        self._busy = 0

    def _check_path(self, connection: ServerConnection, request: Request) -> Response | None:
        if urlsplit(request.path).path.rstrip("/") != REALTIME_PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        if self._busy > 0:
            self._busy -= 1
            self.refused += 1
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Service Unavailable\n")
        return None

    async def _serve(self, ws: ServerConnection) -> None:
        request = ws.request
        if request is None:  # only before the handshake, and handlers run after it
            return
        key = _bearer_key(request.headers)
        if key != self.api_key:
            await self._refuse(ws, key)
            return
        model = parse_qs(urlsplit(request.path).query).get("model", [DEFAULT_MODEL])[0]
        session = RealtimeSession(ws, model, self.options, self._speech)
        self.sessions.append(session)
        await session.run()

    @staticmethod
    async def _refuse(ws: ServerConnection, key: str | None) -> None:
        if key:
            shown = f"{key[:3]}*{key[-4:]}" if len(key) > 8 else "*" * len(key)
            message = (
                f"Incorrect API key provided: {shown}. You can find your API key at "
                "https://platform.openai.com/account/api-keys."
            )
        else:
            message = (
                "You didn't provide an API key. You need to provide your API key in an Authorization "
                "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
        try:
            await ws.send(json.dumps(ServerEvents().error(ClientError(message, "invalid_api_key"))))
            await ws.close(AUTH_CLOSE_CODE, AUTH_CLOSE_REASON)
        except ConnectionClosed:
            pass
