"""A started process freezes what start-up made, so full collections no longer walk it."""

from __future__ import annotations

import gc

from phony import heap


def test_settled_start_up_objects_are_left_out_of_full_collections() -> None:
    start_up = [{"schema": i} for i in range(10_000)]  # what a process keeps from its start-up
    try:
        heap.settle()
        assert gc.get_freeze_count() >= len(start_up)
        walked = {id(o) for o in gc.get_objects(generation=2)}
        assert not any(id(o) in walked for o in start_up)
    finally:
        gc.unfreeze()
