"""What the edge process holds for its lifetime (created in the app's lifespan, never global)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from phony.commands import CommandBus
from phony.commands.audio import AudioProducer
from phony.commands.playback import PlaybackMessage
from phony.config import Settings
from phony.edge.auth import Principal
from phony.edge.channels import ChannelHub
from phony.edge.key_cache import KeyCache
from phony.edge.live.hub import EventHub
from phony.edge.live.leases import SocketLeases
from phony.edge.remembered import Remembered
from phony.edge.schemas.agents import AgentList
from phony.edge.twilio_auth import TwilioSignatures
from phony.metrics import Metrics


@dataclass
class EdgeContext:
    settings: Settings
    redis: Redis
    mongo: AsyncMongoClient[dict[str, Any]]
    broker: KafkaBroker
    bus: CommandBus
    audio: AudioProducer  # caller frames and mark echoes, to the audio topic
    signatures: TwilioSignatures
    hub: EventHub  # the events WebSockets' shared Redis subscriptions
    audio_out: ChannelHub[PlaybackMessage]  # the media sockets' shared subscriptions to call playback
    leases: SocketLeases  # their count per API key, across processes
    metrics: Metrics  # this process's (``phony serve``: also its worker's and projector's)
    keys: KeyCache[Principal]  # API keys accepted, while the auth epoch holds
    agent_pages: Remembered[AgentList]  # pages of agent lists, while their tenant's agents epoch holds
    started: float = field(default_factory=time.monotonic)
