"""A fake OpenAI Realtime API (GA protocol) whose model follows the scenario scripts.

Start a :class:`RealtimeSim`, point the real ``openai`` client at ``sim.base_url`` /
``sim.websocket_base_url``, and the "model" hears caller turns by voice activity, transcribes them
as the script's caller lines, and answers with the script's lines as μ-law speech and tool calls.
"""

from phony.sim.realtime.options import ObservationKind, Observer, RealtimeObservation, SimOptions
from phony.sim.realtime.server import RealtimeSim
from phony.sim.realtime.session import RealtimeSession

__all__ = [
    "ObservationKind",
    "Observer",
    "RealtimeObservation",
    "RealtimeSession",
    "RealtimeSim",
    "SimOptions",
]
