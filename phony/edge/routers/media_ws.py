"""``WS /media/ws``: Twilio's bidirectional media stream."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from phony.edge.context import EdgeContext
from phony.edge.media import MediaBridge

router = APIRouter(tags=["twilio"])


@router.websocket("/media/ws")
async def media_ws(ws: WebSocket) -> None:
    """Twilio connects here after ``<Connect><Stream>``. The handshake must carry a valid
    ``X-Twilio-Signature`` for this URL; otherwise it is refused (HTTP 403, i.e. close 1008)."""
    ctx: EdgeContext = ws.app.state.ctx
    if not ctx.signatures.valid(ws, {}, websocket=True):
        await ws.close(code=1008, reason="invalid Twilio signature")
        return
    await ws.accept()
    await MediaBridge(ctx, ws).run()
