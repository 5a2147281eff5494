"""Live events for the events WebSocket: the process's shared Redis subscriptions (``EventHub``), each
socket's bounded feed (``Subscription``), per-call order and gap repair (``CallOrder``), the per-key
socket count (``SocketLeases``) and one socket's life (``EventSocket``)."""

from phony.edge.live.hub import EventHub, HubUnavailable
from phony.edge.live.leases import SocketLeases
from phony.edge.live.order import CallOrder
from phony.edge.live.session import Close, EventSocket, StreamRequest
from phony.edge.live.subscription import LiveEvent, Subscription, SubscriptionEnded

__all__ = [
    "CallOrder",
    "Close",
    "EventHub",
    "EventSocket",
    "HubUnavailable",
    "LiveEvent",
    "SocketLeases",
    "StreamRequest",
    "Subscription",
    "SubscriptionEnded",
]
