"""The OpenAPI document describes every endpoint with its errors; the services script reports each
server's own version, and uses servers that another checkout already runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT


async def test_openapi_documents_every_endpoint_with_error_responses(admin: httpx.AsyncClient) -> None:
    spec = (await admin.get("/openapi.json")).json()
    operations = [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()]
    assert len(operations) >= 16
    for path, method, op in operations:
        if path == "/healthz":
            assert "503" in op["responses"]
            continue
        # Twilio's webhooks are authenticated by signature (403), everything else by key (401).
        auth = "403" if "twilio" in op.get("tags", []) else "401"
        assert auth in op["responses"], (path, method)
        assert "503" in op["responses"], (path, method)
        schema = op["responses"][auth]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/ErrorEnvelope"), (path, method)
    assert (await admin.get("/docs")).status_code == 200


def test_services_status_prints_each_servers_own_version(servers: object) -> None:
    if os.environ.get("PHONY_KAFKA_BOOTSTRAP"):
        pytest.skip("external servers given; the project's services are not in use")
    out = subprocess.run(
        [str(ROOT / "scripts" / "services.sh"), "status"], capture_output=True, text=True, check=False
    ).stdout
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "up" in lines["kafka"]
    assert "Apache Kafka 4." in lines["kafka"]
    assert "SecantusDB 0.7" in lines["mongodb"]
    assert "Redis " in lines["redis"]


def test_testcontainers_start_the_servers_where_docker_answers() -> None:
    from tests.conftest import _docker_answers

    if not _docker_answers():
        pytest.skip("no Docker daemon answers here; the project's own services are used instead")
    from tests.containers import container_servers

    with container_servers() as found:
        assert found.kafka
        assert found.mongodb.startswith("mongodb://")
        assert found.redis.startswith("redis://")


def test_services_up_uses_servers_already_on_its_ports(servers: object, tmp_path: Path) -> None:
    if os.environ.get("PHONY_KAFKA_BOOTSTRAP"):
        pytest.skip("external servers given; the project's services are not in use")
    # Another checkout (its own services dir) finds the ports served: it installs nothing, starts
    # nothing, and has nothing of its own for `down` to stop.
    env = {**os.environ, "PHONY_SERVICES_DIR": str(tmp_path)}
    up = subprocess.run(
        [str(ROOT / "scripts" / "services.sh"), "up"], capture_output=True, text=True, env=env, check=False
    )
    assert up.returncode == 0, up.stderr
    for name in ("kafka", "secantus", "redis"):
        assert f"{name}: 127.0.0.1:" in up.stderr
        assert "already served" in up.stderr
    assert not list((tmp_path / "run").iterdir())
    assert not (tmp_path / "kafka").exists()
    assert not (tmp_path / "secantus").exists()
