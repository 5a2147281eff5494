"""Parsing the model's server events: the worker's parser beside the alternatives, per event, in one run.

The audio delta is the hot path (dozens a second per call), so it is timed at three sizes of μ-law
(20 ms, 100 ms as the fake server sends, 500 ms) through:

- ``parse_server_event``: ``pydantic_core.from_json``, plain key access, a slotted frozen dataclass;
- stdlib ``json.loads`` with the same key access and dataclass;
- a pydantic model of the same three fields, from the JSON (``model_validate_json``);
- stdlib ``json.loads`` then that model (``model_validate``);
- the ``openai`` package's ``RealtimeServerEvent`` union (``TypeAdapter.validate_json``);
- and, for scale, ``base64.b64decode`` of the delta, which the worker does next anyway.

Then the rarer events that go through the pydantic union (a transcript delta, a ``response.done``)
beside the ``openai`` union. Each figure is the best of ``--repeat`` runs of about ``--run-ms``
each, the rows' runs interleaved; ratios are to ``parse_server_event`` on the same message. Run:
    .venv/bin/python bench/model_events.py [--run-ms 50] [--repeat 15]
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from openai.types.realtime import RealtimeServerEvent
from pydantic import BaseModel, ConfigDict, TypeAdapter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from phony.sim.realtime.events import ServerEvents, assistant_item, usage  # noqa: E402
from phony.workers.calls.model_events import AudioDelta, parse_server_event  # noqa: E402

MULAW_BYTES_PER_MS = 8
SDK: TypeAdapter[Any] = TypeAdapter(RealtimeServerEvent)


class PydanticAudioDelta(BaseModel):
    """The audio delta as a pydantic model, configured like the module's other event models."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    type: Literal["response.output_audio.delta"]
    response_id: str
    item_id: str
    delta: str


def stdlib_audio_delta(raw: bytes) -> AudioDelta:
    """The same fast path with the standard library's JSON parser."""
    data = json.loads(raw)
    return AudioDelta(data["response_id"], data["item_id"], data["delta"])


def stdlib_then_pydantic(raw: bytes) -> PydanticAudioDelta:
    """Parse with the standard library, then validate the dict with pydantic."""
    return PydanticAudioDelta.model_validate(json.loads(raw))


def calibrate(parse: Callable[[], object], run_s: float) -> int:
    """How many calls of ``parse`` take about ``run_s`` seconds."""
    number, took = 1, 0.0
    while took < run_s / 10:
        number *= 10
        took = timeit.timeit(parse, number=number)
    return max(1, round(number * run_s / took))


def table(title: str, rows: list[tuple[str, Callable[[], object]]], run_s: float, repeat: int) -> None:
    """Print each row's time per event (best run) and its ratio to the first row. The rows' runs are
    interleaved, so that the machine's noise over time hits them alike."""
    print(f"\n{title}")
    numbers = [calibrate(parse, run_s) for _, parse in rows]
    best = [float("inf")] * len(rows)
    for _ in range(repeat):
        for i, ((_, parse), number) in enumerate(zip(rows, numbers, strict=True)):
            best[i] = min(best[i], timeit.timeit(parse, number=number) / number * 1e6)
    for (name, _), us in zip(rows, best, strict=True):
        print(f"  {name:<44} {us:8.2f} µs   {us / best[0]:6.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-ms", type=float, default=50, help="length of one timed run per row")
    parser.add_argument("--repeat", type=int, default=15, help="runs per row (the best is kept)")
    args = parser.parse_args()
    events = ServerEvents()
    response_id, item_id = events.new_id("resp"), events.new_id("item")
    where = {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0}
    print(f"per event, best of {args.repeat} interleaved runs of ~{args.run_ms:g} ms; ratio to the first row")

    for ms in (20, 100, 500):
        delta = base64.b64encode(b"\x7f" * (ms * MULAW_BYTES_PER_MS)).decode()
        raw = json.dumps(events.make("response.output_audio.delta", delta=delta, **where)).encode()
        rows: list[tuple[str, Callable[[], object]]] = [
            ("parse_server_event (pydantic_core.from_json)", functools.partial(parse_server_event, raw)),
            ("json.loads + key access + dataclass", functools.partial(stdlib_audio_delta, raw)),
            ("pydantic model_validate_json", functools.partial(PydanticAudioDelta.model_validate_json, raw)),
            (
                "json.loads + pydantic model_validate",
                functools.partial(stdlib_then_pydantic, raw),
            ),
            ("openai RealtimeServerEvent validate_json", functools.partial(SDK.validate_json, raw)),
            ("(base64.b64decode of the delta, for scale)", functools.partial(base64.b64decode, delta)),
        ]
        table(
            f"response.output_audio.delta, {ms} ms of μ-law ({len(raw)} bytes)",
            rows,
            args.run_ms / 1000,
            args.repeat,
        )

    spoken = "Sure. Your order shipped yesterday."
    item = assistant_item(item_id, "completed", [{"type": "output_audio", "transcript": spoken}])
    body = {
        "object": "realtime.response",
        "id": response_id,
        "status": "completed",
        "status_details": None,
        "output": [item],
        "conversation_id": "conv_1",
        "output_modalities": ["audio"],
        "max_output_tokens": "inf",
        "audio": {"output": {"format": {"type": "audio/pcmu"}, "voice": "alloy"}},
        "usage": usage(120, 40, spoken, 2000),
        "metadata": None,
    }
    for event in (
        events.make("response.output_audio_transcript.delta", delta="Sure.", **where),
        events.make("response.done", response=body),
    ):
        raw = json.dumps(event).encode()
        rows = [
            ("parse_server_event (pydantic union)", functools.partial(parse_server_event, raw)),
            ("openai RealtimeServerEvent validate_json", functools.partial(SDK.validate_json, raw)),
        ]
        table(f"{event['type']} ({len(raw)} bytes)", rows, args.run_ms / 1000, args.repeat)


if __name__ == "__main__":
    main()
