"""Phony's configuration: every knob is a ``PHONY_*`` environment variable (see the README's table)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All settings, read once at start-up from the environment (and ``.env`` if present)."""

    model_config = SettingsConfigDict(env_prefix="PHONY_", env_file=".env", extra="ignore")

    env: Literal["prod", "dev"] = "prod"
    host: str = "127.0.0.1"
    port: int = 24187
    public_url: str = Field("", description="Public base URL Twilio sees (proxies); default http://host:port")
    admin_key: SecretStr = SecretStr("")

    # Servers.
    kafka_bootstrap: str = "127.0.0.1:19092"
    mongodb_url: str = "mongodb://127.0.0.1:27018"
    mongodb_db: str = "phony"
    redis_url: str = "redis://127.0.0.1:16379/0"

    # The log.
    topic_prefix: str = "phony"
    partitions: int = Field(8, ge=1, le=256)
    audio_retention_ms: int = 3_600_000
    consumer_group_prefix: str = "phony"
    projector_concurrency: int = Field(4, ge=1, le=64)
    projector_batch_max: int = Field(500, ge=1, le=10_000)
    projector_attempts: int = Field(5, ge=1, le=100)
    worker_batch_max: int = Field(500, ge=1, le=10_000)
    worker_audio_commit_ms: int = Field(1000, ge=0, le=60_000)
    audio_linger_ms: int = Field(0, ge=0, le=100)
    model_connect_attempts: int = Field(3, ge=1, le=10)
    redis_max_connections: int = Field(500, ge=10)
    # Faults: how fast a dead worker is noticed, how long a write may wait for a broker that is down.
    worker_session_timeout_ms: int = Field(3000, ge=1000, le=300_000)
    # A call taken over asks Twilio how it stands this long after (a status callback sent while the
    # whole server was down is never heard again).
    status_check_s: float = Field(5.0, ge=0, le=600)
    worker_heartbeat_ms: int = Field(500, ge=100, le=60_000)
    kafka_write_timeout_s: float = Field(5.0, gt=0, le=120)
    playback_retry_s: float = Field(15.0, ge=0, le=300)
    snapshot_every: int = Field(200, ge=1, le=1_000_000)

    # REST behaviour.
    max_body_bytes: int = 1_048_576
    read_your_writes_timeout_s: float = 10.0
    rate_agents_per_min: int = 100
    rate_calls_per_min: int = 500
    rate_webhooks_per_min: int = 1000
    ws_max_per_key: int = 50
    ws_queue_size: int = Field(
        256, ge=1, description="Events queued per events WebSocket before it is closed as too slow"
    )
    ws_auth_recheck_s: float = Field(
        2.0, gt=0, description="How often an open events WebSocket re-checks its key"
    )

    # Telephony and model.
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_api_base: str = "https://api.twilio.com"
    openai_api_key: SecretStr = SecretStr("")
    openai_base_url: str = "https://api.openai.com/v1"
    openai_websocket_base_url: str = "wss://api.openai.com/v1"
    default_model: str = "gpt-realtime"
    transcription_model: str = "gpt-4o-mini-transcribe"
    vad_silence_ms: int = 500

    # Simulators (started by `phony serve` when no Twilio/OpenAI credentials are configured).
    sim_openai_port: int = 24188
    sim_twilio_port: int = 24189

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = Field("text", description="json: one JSON object a line")
    # Prometheus /metrics of `phony worker` / `phony projector` on this port (0: off). The edge and
    # `phony serve` always serve /metrics on their HTTP port.
    metrics_port: int = Field(0, ge=0, le=65535)

    @property
    def base_url(self) -> str:
        """The URL Twilio uses to reach this server (webhooks, media WebSocket)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def has_twilio(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token.get_secret_value())

    @property
    def has_openai(self) -> bool:
        return bool(self.openai_api_key.get_secret_value())

    def topic(self, name: str) -> str:
        """Full topic name for ``commands``, ``audio`` or ``events``."""
        return f"{self.topic_prefix}.{name}"

    def group(self, role: str) -> str:
        """Consumer group of a role (``worker``, ``projector``)."""
        return f"{self.consumer_group_prefix}.{self.topic_prefix}.{role}"

    def channel(self, name: str) -> str:
        """Redis channel/key namespace of this deployment."""
        return f"{self.topic_prefix}:{name}"
