"""One Realtime connection: the session's state, its client events in, its server events out."""

from __future__ import annotations

import json
import time

from openai.types.realtime import (
    ConversationItemCreateEvent,
    ConversationItemDeleteEvent,
    ConversationItemRetrieveEvent,
    ConversationItemTruncateEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    RealtimeResponseCreateParams,
    ResponseCancelEvent,
    ResponseCreateEvent,
    SessionUpdateEvent,
)
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from phony.sim.realtime import items
from phony.sim.realtime.codec import SpeechCache
from phony.sim.realtime.config import TurnDetection, default_session, merge_session, read_settings
from phony.sim.realtime.conversation import Conversation
from phony.sim.realtime.events import SERVER_ERROR_MESSAGE, JsonObject, ServerEvents
from phony.sim.realtime.input_audio import InputAudio
from phony.sim.realtime.options import RealtimeObservation, SimOptions
from phony.sim.realtime.parsing import AppendAudio, ClientError, ClientEvent, decode_json, parse_client_event
from phony.sim.realtime.planning import count_client_message, plan_response
from phony.sim.realtime.response import ResponseRun
from phony.sim.realtime.script import Script

MODEL_FAILURE_CLOSE_CODE = 1011


class RealtimeSession:
    """A connected client's session. Its public attributes are live views for tests and benchmarks.

    ``received`` holds every client event as sent (as JSON objects), except the high-volume
    ``input_audio_buffer.append`` events, which ``appended_audio_ms`` counts instead. ``items`` is
    the conversation as the server holds it, and ``config`` the session object last reported.
    """

    def __init__(self, ws: ServerConnection, model: str, options: SimOptions, speech: SpeechCache) -> None:
        self._ws = ws
        self.events = ServerEvents()
        self.id = self.events.new_id("sess")
        self.model = model
        self.options = options
        self._speech = speech
        self.conversation = Conversation()
        self.received: list[JsonObject] = []
        self.config: JsonObject = default_session(self.id, model)
        self._settings = read_settings(self.config)
        self._input = InputAudio(self, self._settings)
        self._script = Script(options.scenario_lookup)
        self._active: ResponseRun | None = None
        self.responses: list[ResponseRun] = []
        self._committed_audio_ms = 0
        self.closed = False
        self.failed = False  # the scenario made the model drop the connection

    @property
    def items(self) -> list[JsonObject]:
        """The conversation items, oldest first (a snapshot)."""
        return self.conversation.items

    @property
    def appended_audio_ms(self) -> int:
        """Milliseconds of input audio appended so far."""
        return self._input.position_ms

    async def send(self, event: JsonObject) -> None:
        """Send one server event (serialised now, so later changes to shared dicts don't leak in)."""
        await self._ws.send(json.dumps(event))

    async def run(self) -> None:
        """Serve the connection until it closes."""
        try:
            await self.send(self.events.make("session.created", session=self.config))
            async for message in self._ws:
                await self._handle(message)
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            if self._active is not None:
                await self._active.abandon()

    async def _handle(self, message: str | bytes) -> None:
        try:
            data = decode_json(message)
            if data.get("type") != "input_audio_buffer.append":
                self.received.append(data)
            await self._dispatch(parse_client_event(data))
        except ClientError as err:
            await self.send(self.events.error(err))

    async def _dispatch(self, event: ClientEvent) -> None:
        match event:
            case AppendAudio():
                observer = self.options.observer
                if observer is not None:
                    observer(
                        RealtimeObservation(
                            self.id, "input_audio_buffer.append", time.monotonic(), event.audio
                        )
                    )
                await self._input.append(event.audio)
            case SessionUpdateEvent():
                await self._update_session(event)
            case InputAudioBufferCommitEvent():
                await self._input.commit(event.event_id)
            case InputAudioBufferClearEvent():
                await self._input.clear()
            case ConversationItemCreateEvent():
                item = await items.create_item(self, event)
                count_client_message(self._script, self.conversation, item)
            case ConversationItemRetrieveEvent():
                await items.retrieve_item(self, event)
            case ConversationItemDeleteEvent():
                await items.delete_item(self, event)
            case ConversationItemTruncateEvent():
                await items.truncate_item(self, event)
            case ResponseCreateEvent():
                if self.options.observer is not None:
                    instructions = event.response.instructions if event.response else None
                    self.options.observer(
                        RealtimeObservation(self.id, "response.create", time.monotonic(), detail=instructions)
                    )
                await self._create_response(event)
            case ResponseCancelEvent():
                await self._cancel_response(event)
            case _:  # output_audio_buffer.clear
                raise ClientError(
                    "output_audio_buffer.clear is only supported for WebRTC and SIP sessions.",
                    "invalid_value",
                    "type",
                    getattr(event, "event_id", None),
                )

    async def _update_session(self, event: SessionUpdateEvent) -> None:
        if event.session.type != "realtime":
            raise ClientError(
                "A realtime session cannot become a transcription session.",
                "invalid_value",
                "session.type",
                event.event_id,
            )
        update = event.session.model_dump(mode="json", exclude_unset=True, by_alias=True)
        voice = ((update.get("audio") or {}).get("output") or {}).get("voice")
        if voice is not None and voice != self._settings.voice and self._has_assistant_audio():
            raise ClientError(
                "Cannot update a conversation's voice if assistant audio is present.",
                "cannot_update_voice",
                "session.audio.output.voice",
                event.event_id,
            )
        self.config = merge_session(self.config, update)
        self._settings = read_settings(self.config)
        self._input.reconfigure(self._settings)
        await self.send(self.events.make("session.updated", session=self.config))

    def _has_assistant_audio(self) -> bool:
        return any(self.conversation.audio_ms(str(i.get("id"))) for i in self.conversation.items)

    def _responding(self) -> bool:
        return self._active is not None and not self._active.finished

    async def speech_started(self, turn_detection: TurnDetection) -> None:
        """Barge-in: with ``interrupt_response`` the streaming response is cut off."""
        if turn_detection.interrupt_response and self._active is not None:
            await self._active.cancel("turn_detected")

    async def caller_turn_committed(self, item: JsonObject, audio_ms: int, respond: bool) -> None:
        """Transcribe the caller's turn from the script and answer it when turn detection says so."""
        self._committed_audio_ms += audio_ms
        transcript = self._script.transcribe_caller_turn(self._settings.instructions)
        # Like the API, a turn that ends while a response is still streaming is not answered.
        if respond and not self._responding():
            await self._start_response(None)
        model = self._settings.transcription_model
        if model is None:
            return
        where = {"item_id": item["id"], "content_index": 0}
        await self.send(
            self.events.make("conversation.item.input_audio_transcription.delta", delta=transcript, **where)
        )
        logprobs = "item.input_audio_transcription.logprobs" in (self.config.get("include") or [])
        await self.send(
            self.events.transcription_completed(item["id"], transcript, model, audio_ms, logprobs)
        )
        item["content"][0]["transcript"] = transcript

    async def _create_response(self, event: ResponseCreateEvent) -> None:
        if self._active is not None and self._responding():
            raise ClientError(
                f"Conversation already has an active response in progress: {self._active.id}. Wait until "
                "the response is finished before creating a new one.",
                "conversation_already_has_active_response",
                None,
                event.event_id,
            )
        await self._start_response(event.response)

    async def _cancel_response(self, event: ResponseCancelEvent) -> None:
        active = self._active
        if active is None or active.finished or event.response_id not in (None, active.id):
            raise ClientError(
                "Cancellation failed: no active response found",
                "response_cancel_not_active",
                None,
                event.event_id,
            )
        await active.cancel("client_cancelled")

    async def _start_response(self, params: RealtimeResponseCreateParams | None) -> None:
        plan = plan_response(
            self._script,
            self._settings,
            self.config,
            self.conversation,
            self._speech,
            params,
            self._committed_audio_ms,
        )
        run = ResponseRun(self, plan)
        self._active = run
        self.responses.append(run)
        await run.start()

    async def response_finished(self, run: ResponseRun) -> None:
        """After ``response.done``: rate limits, and the scenario's scripted model failure."""
        used = sum(len(r.plan.text) // 4 + 50 for r in self.responses)
        await self.send(self.events.rate_limits(len(self.responses), used))
        answered_turn = run.status == "completed" and run.plan.script_turn is not None
        if answered_turn and self._script.turn_completed(self._settings.instructions):
            await self._fail()

    async def _fail(self) -> None:
        self.failed = True
        error = ClientError(SERVER_ERROR_MESSAGE, None, error_type="server_error")
        await self.send(self.events.error(error))
        await self._ws.close(MODEL_FAILURE_CLOSE_CODE, "Internal server error")
