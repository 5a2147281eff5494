"""The ``NOT_GIVEN`` sentinel: a parameter left out, as opposed to one given as ``None``.

``client.agents.update(agent_id, greeting_message=None)`` clears the greeting; leaving
``greeting_message`` out keeps it. Only parameters actually given are sent.
"""

from __future__ import annotations

from typing import Any, Final, Literal


class NotGiven:
    """The type of :data:`NOT_GIVEN`; falsy, and never sent."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        # One instance, so ``x is NOT_GIVEN`` holds after copies and pickling alike.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()


def given(**params: Any) -> dict[str, Any]:
    """``params`` without those left :data:`NOT_GIVEN`."""
    return {k: v for k, v in params.items() if not isinstance(v, NotGiven)}


def sent(scope: dict[str, Any], *exclude: str) -> dict[str, Any]:
    """A method's parameters as sent: ``locals()`` at its first line, without ``self``, the names in
    ``exclude`` (path parameters) and those left :data:`NOT_GIVEN`."""
    skip = {"self", *exclude}
    return {k: v for k, v in scope.items() if k not in skip and not isinstance(v, NotGiven)}
