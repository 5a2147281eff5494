"""Test support: the servers, Phony processes on them, clients, and waiting for conditions."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from phony.config import Settings

ROOT = Path(__file__).resolve().parents[1]
ADMIN_KEY = "test-operator-key"
T = TypeVar("T")


@dataclass(frozen=True)
class Servers:
    kafka: str
    mongodb: str
    redis: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool] = bool,
    within: float = 15.0,
    interval: float = 0.05,
) -> T:
    """Poll ``probe`` until ``until(result)`` holds; fail with the last result after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if until(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {within}s; last result: {result!r}")
        await asyncio.sleep(interval)


@dataclass
class PhonyProcess:
    """A ``phony <role>`` process on the real servers, isolated by topic prefix and database."""

    role: str
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log_dir: Path) -> None:
        args = [sys.executable, "-m", "phony.cli", self.role]
        if self.role in ("serve", "edge"):
            args += ["--port", str(self.port)]
        self.log_path = log_dir / f"{self.role}-{self.port}.log"
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                args, env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
            )

    async def ready(self, within: float = 60.0) -> None:
        """Wait until /healthz answers (edge roles)."""
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:

            async def probe() -> int:
                if self.proc is not None and self.proc.poll() is not None:
                    raise AssertionError(f"phony {self.role} exited:\n{self.tail()}")
                try:
                    return (await client.get("/healthz")).status_code
                except httpx.TransportError:
                    return 0

            await eventually(probe, lambda s: s == 200, within=within, interval=0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, lines: int = 60) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


SECANTUSD = ROOT / ".services" / "secantus" / "venv" / "bin" / "secantusd-py"
# SecantusDB as scripts/services.sh runs it; its own defaults are the other flags bench/durability.py tries.
SECANTUSD_CONFIG = ("--config", str(ROOT / "scripts" / "secantusd.toml"))


class SecantusServer:
    """A SecantusDB server of its own (a free port, a data directory), started with ``flags`` and
    SIGKILLed by PID; started again on the same port and data."""

    def __init__(self, data: Path, flags: tuple[str, ...] = SECANTUSD_CONFIG) -> None:
        self.port = free_port()
        self.url = f"mongodb://127.0.0.1:{self.port}"
        self._data = data
        self._flags = flags
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(SECANTUSD), *self._flags, "--port", str(self.port), "--storage-path", str(self._data)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


@dataclass(frozen=True)
class SimEnv:
    """Where the session's simulators listen, and their credentials."""

    twilio_account_sid: str
    twilio_auth_token: str
    twilio_api_base: str
    openai_api_key: str
    openai_base_url: str
    openai_websocket_base_url: str

    def env(self) -> dict[str, str]:
        return {f"PHONY_{k.upper()}": v for k, v in self.__dict__.items()}


def namespace_settings(servers: Servers, namespace: str, partitions: int, **overrides: Any) -> Settings:
    """Settings of a Phony in ``namespace`` (its topics and database) on ``servers``, as its processes
    have them: for reading its log and read models from a test or a benchmark."""
    fields: dict[str, Any] = {
        "kafka_bootstrap": servers.kafka,
        "mongodb_url": servers.mongodb,
        "redis_url": servers.redis,
        "topic_prefix": namespace,
        "mongodb_db": namespace,
        "partitions": partitions,
    }
    return Settings(_env_file=None, **{**fields, **overrides})


def phony_env(servers: Servers, namespace: str, sims: SimEnv | None = None, **extra: str) -> dict[str, str]:
    """Environment for a Phony process on ``servers`` in its own topics and database, talking to the
    session's simulators (or, without them, in dev mode: no Twilio signatures)."""
    return {
        **(sims.env() if sims else {"PHONY_ENV": "dev"}),
        "PHONY_VAD_SILENCE_MS": "300",
        "PHONY_KAFKA_BOOTSTRAP": servers.kafka,
        "PHONY_MONGODB_URL": servers.mongodb,
        "PHONY_REDIS_URL": servers.redis,
        "PHONY_TOPIC_PREFIX": namespace,
        "PHONY_MONGODB_DB": namespace,
        "PHONY_ADMIN_KEY": ADMIN_KEY,
        "PHONY_PARTITIONS": "4",
        "PHONY_LOG_LEVEL": "INFO",
        **extra,
    }


@dataclass
class TenantHandle:
    """A fresh tenant with one key, and a client that sends it."""

    id: str
    key: str
    key_id: str
    client: httpx.AsyncClient


def agent_body(**overrides: object) -> dict[str, object]:
    """The seed's create-agent example, with overrides."""
    body: dict[str, object] = {
        "name": "Customer Service Bot",
        "system_prompt": "You are a helpful customer service representative",
        "voice": "alloy",
        "model": "gpt-4o-realtime-preview",
        "greeting_message": "Hello! How can I help you today?",
        "phone_numbers": [],
        "is_active": True,
    }
    body.update(overrides)
    return body


def unique_number() -> str:
    """An E.164 number no other test uses."""
    return "+1" + str(2_000_000_000 + uuid.uuid4().int % 7_999_999_999)


async def drop_namespace(servers: Servers, namespace: str) -> None:
    """Delete what a namespace left on the servers (its topics, its database), so runs do not pile up
    partitions on the broker. Best effort: a server that is gone has nothing to clean."""
    from aiokafka.admin import AIOKafkaAdminClient
    from pymongo import AsyncMongoClient

    admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka)
    try:
        await admin.start()
        topics = [t for t in await admin.list_topics() if t.startswith(f"{namespace}.")]
        if topics:
            await admin.delete_topics(topics)
    except Exception:
        pass
    finally:
        await admin.close()
    mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        servers.mongodb, serverSelectionTimeoutMS=2000
    )
    try:
        await mongo.drop_database(namespace)
    except Exception:
        pass
    finally:
        await mongo.close()
