"""Caller frames and mark echoes on the audio topic: what the edge writes, the worker reads back."""

from __future__ import annotations

import base64
import json
import os
import time

from aiokafka.partitioner import DefaultPartitioner

from phony.commands.audio import AudioFrame, call_partition


def test_a_caller_frame_reads_back_as_written() -> None:
    frame = AudioFrame("a", "CA" + "7" * 32, 12_340, base64.b64encode(os.urandom(160)).decode(), time.time())
    raw = frame.encode()
    assert json.loads(raw) == ["a", frame.call_sid, 12_340, frame.payload, frame.sent_at]
    assert AudioFrame.decode(raw) == frame


def test_a_mark_name_is_escaped_as_json() -> None:
    mark = AudioFrame("m", "CA1", 0, 'resp_1:"odd"\\name')
    assert AudioFrame.decode(mark.encode()) == mark


def test_frames_go_to_the_partition_kafka_gives_the_calls_key() -> None:
    # Co-partitioning: audio lands where the call's commands and events (keyed by the SID) land.
    choose = DefaultPartitioner()
    for i in range(500):
        sid = f"CA{i:032x}"
        assert call_partition(sid, 8) == choose(sid.encode(), list(range(8)), list(range(8)))
