"""When a request is tried again, and after how long (shared by the sync and async clients)."""

from __future__ import annotations

import random

# Methods whose repetition has the effect of one request. POST is never retried: Phony has no
# idempotency key (SPEC §3), so a POST whose answer was lost may have been carried out.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 503})

INITIAL_DELAY_S = 0.5
MAX_DELAY_S = 8.0
# A Retry-After longer than this is not waited for: the error is raised at once.
MAX_RETRY_AFTER_S = 60.0


def may_retry(method: str) -> bool:
    """Whether a failed request with ``method`` may be sent again."""
    return method.upper() in IDEMPOTENT_METHODS


def backoff(attempt: int) -> float:
    """Seconds before retry ``attempt`` (1, 2, …): exponential from 0.5 s up to 8 s, less up to a
    quarter at random, so that many clients refused at once do not all come back at once."""
    delay = min(MAX_DELAY_S, INITIAL_DELAY_S * 2.0 ** (attempt - 1))
    return delay * (1 - 0.25 * random.random())


def retry_delay(attempt: int, retry_after: float | None) -> float | None:
    """Seconds to wait before retry ``attempt``: the server's ``Retry-After`` when it gave one (None
    when that is longer than :data:`MAX_RETRY_AFTER_S`: do not retry), else :func:`backoff`."""
    if retry_after is None:
        return backoff(attempt)
    if retry_after > MAX_RETRY_AFTER_S:
        return None
    # A little jitter on top, so that every client told "1 s" does not return in the same instant.
    return retry_after + random.uniform(0, min(1.0, INITIAL_DELAY_S))
