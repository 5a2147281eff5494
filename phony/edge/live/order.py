"""Per-call delivery order for one socket: each call's events go out once, in seq order, with no gap.

Redis pub/sub may deliver an event twice (the replay and the live buffer overlap) or lose one (the
projector applied an event but died before publishing it; a reconnect). Duplicates are dropped by
``seq``; a gap is filled from the store before the event that revealed it, since an event is
published only after it and everything before it in its call were stored.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from phony.edge.live.subscription import LiveEvent
from phony.projections.stored_events import read_events

log = logging.getLogger(__name__)

MAX_CALLS = 10_000


class CallOrder:
    """The last seq sent per call. Bounded: a tenant-wide socket may see many calls over its life;
    a call it forgot is treated as newly seen."""

    def __init__(self, capacity: int = MAX_CALLS) -> None:
        self._last: OrderedDict[str, int] = OrderedDict()
        self._capacity = capacity

    def last(self, call_sid: str) -> int | None:
        """The last seq of ``call_sid`` sent, if the call is known."""
        return self._last.get(call_sid)

    def mark(self, call_sid: str, seq: int) -> None:
        """Everything of ``call_sid`` up to ``seq`` counts as sent."""
        self._last[call_sid] = seq
        self._last.move_to_end(call_sid)
        if len(self._last) > self._capacity:
            self._last.popitem(last=False)

    async def admit(self, event: LiveEvent) -> list[LiveEvent]:
        """What to send for a live ``event``: nothing if already sent, the missing events from the store
        then ``event`` after a gap, else ``event``. A call seen for the first time starts where it is
        (a tenant-wide stream shows calls from the moment it connected)."""
        last = self._last.get(event.call_sid)
        if last is not None and event.seq <= last:
            return []
        missing: list[LiveEvent] = []
        if last is not None and event.seq > last + 1:
            stored = await read_events(event.call_sid, last, event.seq - 1)
            missing = [LiveEvent.of(e) for e in stored]
            if len(missing) != event.seq - 1 - last:
                log.warning("call %s: seq %s..%s not in the store", event.call_sid, last + 1, event.seq - 1)
        self.mark(event.call_sid, event.seq)
        return [*missing, event]
