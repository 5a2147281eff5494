"""Server events out, as the plain JSON objects the GA Realtime API sends.

Plain dicts because audio deltas are sent many times a second per call; their shapes are held to the
``openai`` package's ``RealtimeServerEvent`` models by the simulator's tests, not at run time.
"""

from __future__ import annotations

import itertools
import secrets
import string
from typing import Any

from phony.sim.realtime.parsing import ClientError

JsonObject = dict[str, Any]

_ALPHABET = string.ascii_letters + string.digits
SERVER_ERROR_MESSAGE = (
    "The server had an error while processing your request. Sorry about that! You can retry your "
    "request, or contact us through our help center at help.openai.com if the error persists."
)
_REQUESTS_PER_MINUTE = 5_000
_TOKENS_PER_MINUTE = 400_000


WORD_LOGPROB = -0.05


def word_logprobs(transcript: str) -> list[JsonObject]:
    """A transcript's tokens (a word each, with its leading space) and their log probabilities."""
    tokens = [w if i == 0 else " " + w for i, w in enumerate(transcript.split())]
    return [{"token": t, "logprob": WORD_LOGPROB, "bytes": list(t.encode())} for t in tokens]


class ServerEvents:
    """Builds one session's server events, each with a fresh ``event_id``; also mints the other ids."""

    def __init__(self) -> None:
        # A random stem and a counter: unique like the API's ids, without drawing randomness per event.
        self._stem = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        self._counter = itertools.count(1)

    def new_id(self, prefix: str) -> str:
        """A new id such as ``item_…``, ``resp_…``, ``call_…`` (21 characters after the prefix)."""
        return f"{prefix}_{self._stem}{next(self._counter):09d}"

    def make(self, type_: str, **fields: Any) -> JsonObject:
        """An event of ``type_`` with these fields."""
        return {"type": type_, "event_id": self.new_id("event"), **fields}

    def error(self, err: ClientError) -> JsonObject:
        """An ``error`` event; ``error.event_id`` names the client event that caused it."""
        body = {
            "type": err.error_type,
            "code": err.code,
            "message": err.message,
            "param": err.param,
            "event_id": err.event_id,
        }
        return self.make("error", error=body)

    def transcription_completed(
        self, item_id: str, transcript: str, model: str, audio_ms: int, logprobs: bool = False
    ) -> JsonObject:
        """``conversation.item.input_audio_transcription.completed`` with the usage the model bills,
        and with ``logprobs``, one per word: the sim hears its scripted words well (about 95%)."""
        usage: JsonObject
        if model == "whisper-1":  # billed by duration; the gpt-4o transcribers bill tokens
            usage = {"type": "duration", "seconds": round(audio_ms / 1000, 3)}
        else:
            audio_tokens = max(1, audio_ms // 100)
            text_tokens = max(1, len(transcript) // 4)
            usage = {
                "type": "tokens",
                "input_tokens": audio_tokens,
                "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
                "output_tokens": text_tokens,
                "total_tokens": audio_tokens + text_tokens,
            }
        return self.make(
            "conversation.item.input_audio_transcription.completed",
            item_id=item_id,
            content_index=0,
            transcript=transcript,
            usage=usage,
            **({"logprobs": word_logprobs(transcript)} if logprobs else {}),
        )

    def rate_limits(self, requests_used: int, tokens_used: int) -> JsonObject:
        """``rate_limits.updated`` after a response, with this session's consumption."""
        limits = [
            {
                "name": "requests",
                "limit": _REQUESTS_PER_MINUTE,
                "remaining": max(0, _REQUESTS_PER_MINUTE - requests_used),
                "reset_seconds": 0.012,
            },
            {
                "name": "tokens",
                "limit": _TOKENS_PER_MINUTE,
                "remaining": max(0, _TOKENS_PER_MINUTE - tokens_used),
                "reset_seconds": round(tokens_used * 60 / _TOKENS_PER_MINUTE, 3),
            },
        ]
        return self.make("rate_limits.updated", rate_limits=limits)


def user_audio_item(item_id: str) -> JsonObject:
    """The user message a committed input audio buffer becomes."""
    return {
        "id": item_id,
        "type": "message",
        "object": "realtime.item",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": None}],
    }


def assistant_item(item_id: str, status: str, content: list[JsonObject]) -> JsonObject:
    """An assistant message item (``content`` empty while it is being generated)."""
    return {
        "id": item_id,
        "type": "message",
        "object": "realtime.item",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def function_call_item(item_id: str, call_id: str, name: str, arguments: str, status: str) -> JsonObject:
    """A function call output item."""
    return {
        "id": item_id,
        "type": "function_call",
        "object": "realtime.item",
        "status": status,
        "name": name,
        "call_id": call_id,
        "arguments": arguments,
    }


def usage(
    input_text_tokens: int, input_audio_tokens: int, output_text: str, output_audio_ms: int
) -> JsonObject:
    """A response's ``usage`` (audio at ~10 tokens/s in, ~20 tokens/s out; text at ~4 chars/token)."""
    out_text = max(1, len(output_text) // 4) if output_text else 0
    out_audio = output_audio_ms // 50
    in_total = input_text_tokens + input_audio_tokens
    return {
        "total_tokens": in_total + out_text + out_audio,
        "input_tokens": in_total,
        "output_tokens": out_text + out_audio,
        "input_token_details": {
            "text_tokens": input_text_tokens,
            "audio_tokens": input_audio_tokens,
            "image_tokens": 0,
            "cached_tokens": 0,
            "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio},
    }
