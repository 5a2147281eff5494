"""What every call decision returns and the steps several decisions share (ending the call, making
the model say something, opening its session). Pure: no I/O, the clock comes in the context."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from phony.commands.playback import ClearPlayback
from phony.config import Settings
from phony.events import EventData
from phony.events.calls import CallEnded, EndReason, ErrorOccurred
from phony.workers.calls.effects import (
    CancelResponse,
    CloseSession,
    CreateResponse,
    Effect,
    HangUp,
    ModelEffect,
    OpenSession,
    Play,
)
from phony.workers.calls.instructions import history_items, session_config, verbatim
from phony.workers.calls.session_view import SessionView
from phony.workers.calls.state import CallState, duration_s
from phony.workers.decisions import Refusal

HOLD_LINE = "One moment please."


@dataclass(frozen=True)
class Context:
    """What a decision may know besides the call: its id, the settings, and the time."""

    call_sid: str
    settings: Settings
    now: datetime
    mono: float  # time.monotonic() of the input (latency figures)

    def audio_url(self, response_id: str) -> str:
        return f"{self.settings.base_url}/calls/{self.call_sid}/responses/{response_id}/audio"


@dataclass
class Decision:
    """The events that follow from an input and the effects to carry out. ``act_first``: carry the
    effects out before the events are appended (audio to the caller must not wait for a figure)."""

    events: list[EventData] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    act_first: bool = False
    refusal: Refusal | None = None  # the command is refused: its sender is told, nothing happens

    @classmethod
    def refuse(cls, code: str, status: int, message: str, **details: object) -> Decision:
        return cls(refusal=Refusal(code, status, message, **details))

    def add(self, other: Decision) -> Decision:
        self.events += other.events
        self.effects += other.effects
        self.act_first = self.act_first or other.act_first
        return self


def end(state: CallState, session: SessionView, ctx: Context, reason: EndReason, hang_up: bool) -> Decision:
    """The call ends once: ``call.ended``, then hang up (if asked) and close the model session."""
    if state.ended or session.ending or not state.exists:
        return Decision()
    session.ending = True
    ended = CallEnded(callSid=ctx.call_sid, duration=duration_s(state, ctx.now), reason=reason)
    effects: list[Effect] = [HangUp()] if hang_up else []
    return Decision([ended], [*effects, CloseSession()])


def model_lost(state: CallState, session: SessionView, ctx: Context, message: str) -> Decision:
    """The model failed (could not connect, or dropped): recorded, and the call ends cleanly."""
    if state.ended or session.ending:
        return Decision()
    error = ErrorOccurred(error_type="model", message=message, code="MODEL_UNAVAILABLE")
    return Decision([error]).add(end(state, session, ctx, "model_error", hang_up=True))


def speak(session: SessionView, text: str) -> list[ModelEffect | Play]:
    """Make the model say ``text`` word for word, cutting off what it is saying."""
    effects: list[ModelEffect | Play] = []
    current = session.replies.get(session.current or "")
    if (current is not None and not current.done) or session.verbatim_pending > 0:
        # A reply streaming, or words asked for and not yet begun: the model takes client events in
        # order, so this cancels that one, and the new words do not collide with it.
        effects.append(CancelResponse())
        if current is not None and not current.done:
            current.interrupted = True  # what it still streams is not played
    playing = session.replies.get(session.playing or "")
    if playing is not None and playing.played < playing.sent:
        effects.append(Play(ClearPlayback()))  # what the caller would still hear of it, dropped
        session.playing = None
    session.verbatim_asked += 1
    effects.append(CreateResponse(verbatim(text)))
    return effects


def open_session(state: CallState, session: SessionView, ctx: Context, restore: bool) -> Decision:
    """Open the call's model session: configured from the agent and the call; a restore also gets
    the conversation so far and, when the caller's last turn is unanswered, answers it."""
    assert state.agent is not None
    session.opening, session.open = True, False
    then: list[ModelEffect | Play] = []
    items: tuple[dict[str, object], ...] = ()
    if restore:
        items = tuple(history_items(state.transcript))
        if state.agent.greeting_message and not any(speaker == "ai" for speaker, _ in state.transcript):
            then += speak(session, state.agent.greeting_message)  # the greeting was cut off: again
        elif state.transcript and state.transcript[-1][0] == "caller" and not state.paused:
            then.append(CreateResponse())
    elif state.agent.greeting_message:
        then += speak(session, state.agent.greeting_message)
    config = session_config(ctx.settings, state.agent, state)
    model_then = tuple(e for e in then if not isinstance(e, Play))  # a new session: nothing playing
    return Decision([], [OpenSession(state.agent.model, config, items, model_then)])


def stream_parameters(state: CallState) -> dict[str, str]:
    """The ``<Parameter>``s of a call's media stream (also when the stream is reconnected)."""
    params = {"tenant_id": state.tenant_id, "agent_id": state.agent_id or "", "direction": state.direction}
    if state.scenario:
        params["scenario"] = state.scenario
    return params
