"""Refuses request bodies over the configured size with 413, before the route reads them."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phony.edge.asgi import HttpMiddleware
from phony.edge.errors import ApiError, error_response


class BodyLimit(HttpMiddleware):
    """ASGI middleware: checks ``Content-Length`` up front and counts streamed bodies (chunked, or
    longer than announced) as they are read."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    def _too_large(self) -> ApiError:
        limit = self.max_bytes
        return ApiError(413, f"request body exceeds {limit} bytes", details={"limit": limit})

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(self._too_large(), scope, receive, send)
                return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # An HTTP exception: FastAPI passes it on from reading a body, so the route's
                    # error handler answers it (anything else FastAPI would turn into a 400).
                    raise self._too_large()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except ApiError as error:  # read outside a route (by a middleware inside this one)
            if started or error.status != 413:
                raise
            await self._refuse(error, scope, receive, send)

    async def _refuse(self, error: ApiError, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(error.status, error.message, details=error.details)
        await response(scope, receive, send)
