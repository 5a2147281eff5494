"""``/metrics`` of the session Phony (``phony serve``: edge, worker and projector in one registry)
moves with what happens: a simulated call, REST requests, an events WebSocket."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from phony.config import Settings
from phony.sim.twilio import TwilioSim
from tests.calls import ring, wait_for_event
from tests.support import PhonyProcess, TenantHandle, eventually

Figures = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(phony: PhonyProcess) -> Figures:
    """Every sample of ``/metrics``, by name and labels."""
    async with httpx.AsyncClient(base_url=phony.url, timeout=10) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def total(figures: Figures, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(
        value
        for (found, have), value in figures.items()
        if found == name and set(labels.items()) <= set(have)
    )


def series(figures: Figures, name: str, **labels: str) -> int:
    """How many samples of ``name`` have labels including ``labels``."""
    return sum(1 for found, have in figures if found == name and set(labels.items()) <= set(have))


def partitions_lagged(settings: Settings, group: str, topic: str) -> Callable[[Figures], bool]:
    labels = {"group": settings.group(group), "topic": settings.topic(topic)}
    return lambda figures: series(figures, "phony_kafka_consumer_lag", **labels) == settings.partitions


def has(name: str, at_least: float, **labels: str) -> Callable[[Figures], bool]:
    return lambda figures: total(figures, name, **labels) >= at_least


async def test_call_figures_move_during_a_simulated_call(
    phony: PhonyProcess, tenant: TenantHandle, twilio_sim: TwilioSim, settings: Settings
) -> None:
    before = await scrape(phony)
    active = total(before, "phony_active_calls")
    turns = total(before, "phony_turn_latency_seconds_count")
    live = await ring(tenant, twilio_sim, phony, "hold", settings)

    async def figures() -> Figures:
        return await scrape(phony)

    during = await eventually(figures, has("phony_active_calls", active + 1))
    during = await eventually(figures, has("phony_turn_latency_seconds_count", turns + 1), within=30)
    assert total(during, "phony_audio_hop_latency_seconds_count") > total(
        before, "phony_audio_hop_latency_seconds_count"
    )
    assert total(during, "phony_model_connect_attempts_total") > total(
        before, "phony_model_connect_attempts_total"
    )
    assert total(during, "phony_projection_lag_seconds_count") > total(
        before, "phony_projection_lag_seconds_count"
    )
    # One lag series per partition the session's one worker (and one projector) consumes.
    for group, topic in (("worker", "commands"), ("worker", "audio"), ("projector", "events")):
        await eventually(figures, partitions_lagged(settings, group, topic))

    twilio_sim.hang_up(live.call.sid)
    await wait_for_event(settings, live.call.sid, "call.ended")
    await eventually(figures, lambda f: total(f, "phony_active_calls") <= active)


async def test_http_duration_is_labelled_with_the_route_template(
    phony: PhonyProcess, tenant: TenantHandle
) -> None:
    missing = await tenant.client.get("/agents/agent_does_not_exist")
    assert missing.status_code == 404
    figures = await scrape(phony)
    labels = {"method": "GET", "route": "/agents/{agent_id}", "status": "404"}
    assert total(figures, "phony_http_request_duration_seconds_count", **labels) >= 1
    raw = [k for k in figures if "agent_does_not_exist" in str(k)]
    assert raw == []  # never the raw path


async def test_a_request_refused_before_routing_is_counted_under_its_route(
    phony: PhonyProcess, tenant: TenantHandle
) -> None:
    refused = await tenant.client.post(
        "/agents/", content=b'{"name": "a\\ud800"}', headers={"Content-Type": "application/json"}
    )
    assert refused.status_code == 422  # the input guard answers before any route runs
    figures = await scrape(phony)
    labels = {"method": "POST", "route": "/agents/", "status": "422"}
    assert total(figures, "phony_http_request_duration_seconds_count", **labels) >= 1


async def test_event_sockets_open_rises_while_a_socket_is_open(
    phony: PhonyProcess, tenant: TenantHandle
) -> None:
    async def figures() -> Figures:
        return await scrape(phony)

    before = total(await scrape(phony), "phony_event_sockets_open")
    url = f"ws://127.0.0.1:{phony.port}/events/ws"
    headers = {"Authorization": f"Bearer {tenant.key}"}
    async with connect(url, additional_headers=headers, proxy=None):
        await eventually(figures, has("phony_event_sockets_open", before + 1))
    await eventually(figures, lambda f: total(f, "phony_event_sockets_open") <= before)
