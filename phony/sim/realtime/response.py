"""One model response, streamed as the GA Realtime API streams it.

``response.created`` goes out at once; after ``response_delay_ms`` the assistant message item, its
audio (or text) content part and the deltas follow, faster than real time, with the transcript
interleaved; then the turn's function call, if any, and ``response.done``. A cancel (``response.cancel``
or a barge-in) closes the open parts and ends the response ``cancelled``.
"""

from __future__ import annotations

import asyncio
import base64
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from websockets.exceptions import ConnectionClosed

from phony.sim.realtime.codec import AudioCodec
from phony.sim.realtime.events import JsonObject, assistant_item, function_call_item, usage
from phony.sim.realtime.host import SessionHost
from phony.sim.realtime.options import RealtimeObservation
from phony.sim.scenarios import speech_ms


class ResponseHost(SessionHost, Protocol):
    """What a response needs from its session."""

    async def response_finished(self, run: ResponseRun) -> None:
        """Called once ``response.done`` has been sent."""


@dataclass(frozen=True)
class ResponsePlan:
    """Everything a response says and how (decided by the session when the response is created)."""

    text: str
    audio: bytes | None  # None for a text-only response
    codec: AudioCodec
    voice: str
    tool_name: str | None
    tool_arguments: str | None
    script_turn: int | None
    metadata: Any
    max_output_tokens: Any
    input_text_tokens: int
    input_audio_tokens: int


class _Cancelled(Exception):
    pass


def _word_deltas(text: str, parts: int) -> list[str]:
    # The transcript split into `parts` pieces at word boundaries, to ride along the audio chunks.
    words = text.split(" ")
    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
    out, taken = [], 0
    for i in range(parts):
        upto = round((i + 1) * len(pieces) / parts)
        out.append("".join(pieces[taken:upto]))
        taken = upto
    return out


class ResponseRun:
    """A response in progress; ``finished`` once ``response.done`` is on its way."""

    def __init__(self, host: ResponseHost, plan: ResponsePlan) -> None:
        self._host = host
        self.plan = plan
        self.id = host.events.new_id("resp")
        self.finished = False
        self.status = "in_progress"
        self.output: list[JsonObject] = []
        self._cancel = asyncio.Event()
        self._cancel_reason = "client_cancelled"
        self._task: asyncio.Task[None] | None = None
        self._open: JsonObject | None = None  # the message item being streamed
        self._said = ""
        self._audio_ms = 0

    def _response(self, status: str, details: JsonObject | None, used: JsonObject | None) -> JsonObject:
        audio = self.plan.audio is not None
        return {
            "object": "realtime.response",
            "id": self.id,
            "status": status,
            "status_details": details,
            "output": self.output,
            "conversation_id": "conv_" + self._host.id.removeprefix("sess_"),
            "output_modalities": ["audio"] if audio else ["text"],
            "max_output_tokens": self.plan.max_output_tokens,
            "audio": {"output": {"format": self._format(), "voice": self.plan.voice}},
            "usage": used,
            "metadata": self.plan.metadata,
        }

    def _format(self) -> JsonObject:
        codec = self.plan.codec
        return {"type": codec.name, "rate": 24000} if codec.name == "audio/pcm" else {"type": codec.name}

    async def start(self) -> None:
        """Send ``response.created`` and start generating in the background."""
        await self._host.send(
            self._host.events.make("response.created", response=self._response("in_progress", None, None))
        )
        self._task = asyncio.create_task(self._run(), name=f"realtime-sim {self.id}")

    async def cancel(self, reason: str) -> bool:
        """Stop generating and wait for ``response.done`` (cancelled); False if already finished."""
        if self.finished:
            return False
        self._cancel_reason = reason
        self._cancel.set()
        if self._task is not None and self._task is not asyncio.current_task():
            await asyncio.wait([self._task])
        return True

    async def abandon(self) -> None:
        """The socket is gone: stop generating (a response already finishing is let finish)."""
        task = self._task
        if task is None or task.done():
            return
        if not self.finished:
            task.cancel()
        await asyncio.wait([task])

    async def _pause(self, seconds: float) -> None:
        if not self._cancel.is_set():
            try:
                await asyncio.wait_for(self._cancel.wait(), max(seconds, 0.0))
            except TimeoutError:
                return
        raise _Cancelled

    async def _send(self, type_: str, **fields: Any) -> None:
        await self._host.send(self._host.events.make(type_, response_id=self.id, **fields))

    async def _run(self) -> None:
        status = "completed"
        try:
            try:
                await self._pause(self._host.options.response_delay_ms / 1000)
                await self._speak()
                if self.plan.tool_name is not None:
                    await self._call_tool()
            except _Cancelled:
                status = "cancelled"
                await self._close_message("incomplete")
            await self._done(status)
        except ConnectionClosed:
            pass  # the client is gone: nobody left to tell
        finally:
            # Whatever ended it (done, a closed socket, abandon(), a bug), the session must not keep
            # believing this response is active.
            self.finished = True

    async def _speak(self) -> None:
        host, options, plan = self._host, self._host.options, self.plan
        item_id = host.events.new_id("item")
        item = assistant_item(item_id, "in_progress", [])
        self.output.append(item)
        self._open = item
        await self._send("response.output_item.added", output_index=0, item=item)
        previous = host.conversation.add(item)
        await host.send(host.events.make("conversation.item.added", previous_item_id=previous, item=item))
        part = {"type": "audio", "transcript": ""} if plan.audio is not None else {"type": "text", "text": ""}
        await self._send(
            "response.content_part.added", item_id=item_id, output_index=0, content_index=0, part=part
        )
        chunk_bytes = plan.codec.bytes_per_ms * options.audio_chunk_ms
        # A text-only answer streams over the time its speech would take, as the model's tokens do.
        total = len(plan.audio) if plan.audio is not None else plan.codec.bytes_per_ms * speech_ms(plan.text)
        chunks = max(1, math.ceil(total / chunk_bytes))
        where = {"item_id": item_id, "output_index": 0, "content_index": 0}
        for i, words in enumerate(_word_deltas(plan.text, chunks)):
            if i:
                await self._pause(options.audio_chunk_ms / options.stream_speed / 1000)
            self._said += words
            if plan.audio is None:
                await self._send("response.output_text.delta", delta=words, **where)
                continue
            if words:
                await self._send("response.output_audio_transcript.delta", delta=words, **where)
            await self._audio_delta(plan.audio[i * chunk_bytes : (i + 1) * chunk_bytes], where)
        await self._close_message("completed")

    async def _audio_delta(self, chunk: bytes, where: dict[str, Any]) -> None:
        host = self._host
        observer = host.options.observer
        if observer is not None:
            observer(
                RealtimeObservation(host.id, "response.output_audio.delta", time.monotonic(), payload=chunk)
            )
        await self._send(
            "response.output_audio.delta", delta=base64.b64encode(chunk).decode("ascii"), **where
        )
        ms = self.plan.codec.duration_ms(len(chunk))
        self._audio_ms += ms
        host.conversation.add_audio(where["item_id"], ms)

    async def _close_message(self, status: str) -> None:
        item, self._open = self._open, None
        if item is None:
            return
        where = {"item_id": item["id"], "output_index": 0, "content_index": 0}
        said = self._said
        if self.plan.audio is not None:
            await self._send("response.output_audio.done", **where)
            await self._send("response.output_audio_transcript.done", transcript=said, **where)
            part: JsonObject = {"type": "audio", "transcript": said}
            item["content"] = [{"type": "output_audio", "transcript": said}]
        else:
            await self._send("response.output_text.done", text=said, **where)
            part = {"type": "text", "text": said}
            item["content"] = [{"type": "output_text", "text": said}]
        await self._send("response.content_part.done", part=part, **where)
        item["status"] = status
        await self._send("response.output_item.done", output_index=0, item=item)
        await self._host.send(self._host.events.make("conversation.item.done", item=item))

    async def _call_tool(self) -> None:
        host, plan = self._host, self.plan
        name, arguments = plan.tool_name or "", plan.tool_arguments or "{}"
        item_id, call_id = host.events.new_id("item"), host.events.new_id("call")
        item = function_call_item(item_id, call_id, name, "", "in_progress")
        index = len(self.output)
        self.output.append(item)
        await self._send("response.output_item.added", output_index=index, item=item)
        previous = host.conversation.add(item)
        await host.send(host.events.make("conversation.item.added", previous_item_id=previous, item=item))
        where = {"item_id": item_id, "output_index": index, "call_id": call_id}
        await self._send("response.function_call_arguments.delta", delta=arguments, **where)
        await self._send("response.function_call_arguments.done", arguments=arguments, name=name, **where)
        item.update(status="completed", arguments=arguments)
        await self._send("response.output_item.done", output_index=index, item=item)
        await host.send(host.events.make("conversation.item.done", item=item))

    async def _done(self, status: str) -> None:
        details = None if status == "completed" else {"type": status, "reason": self._cancel_reason}
        used = usage(self.plan.input_text_tokens, self.plan.input_audio_tokens, self._said, self._audio_ms)
        self.status = status
        # Finished before response.done is sent: a client may answer response.done with a new
        # response.create, which must not find this one still active.
        self.finished = True
        await self._host.send(
            self._host.events.make("response.done", response=self._response(status, details, used))
        )
        await self._host.response_finished(self)
