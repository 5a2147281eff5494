"""The audio topic's messages: caller frames and mark echoes, in a compact JSON form.

The hot path: one message per 20 ms frame per call. The edge writes these without pydantic and
without decoding the base64 payload (the model takes base64 μ-law as Twilio sends it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """A caller frame (``kind`` "a", ``payload`` base64 μ-law) or a played mark (``kind`` "m")."""

    kind: Literal["a", "m"]
    call_sid: str
    timestamp_ms: int
    payload: str  # base64 audio for "a", the mark name for "m"
    sent_at: float = 0.0  # the edge's time.time() when it read the frame (latency measurement)

    def encode(self) -> bytes:
        return json.dumps(
            [self.kind, self.call_sid, self.timestamp_ms, self.payload, self.sent_at], separators=(",", ":")
        ).encode()

    @classmethod
    def decode(cls, raw: bytes) -> AudioFrame:
        kind, call_sid, timestamp_ms, payload, sent_at = json.loads(raw)
        if kind not in ("a", "m"):
            raise ValueError(f"unknown audio message kind {kind!r}")
        return cls(kind, str(call_sid), int(timestamp_ms), str(payload), float(sent_at))
