"""The supervisor dashboard (``/dashboard/``) in a real browser: Debian's Chromium driven by
Playwright (issue 11). Every wait is on a condition in the page, never a fixed sleep."""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from phony.config import Settings
from phony.sim.realtime import RealtimeSim
from phony.sim.twilio import TwilioSim
from tests.call_events import projected_until
from tests.calls import LiveInbound, call_events, received, ring, session_of, wait_for_event
from tests.support import (
    PhonyProcess,
    Servers,
    SimEnv,
    TenantHandle,
    eventually,
    free_port,
    phony_env,
    unique_number,
)

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "dashboard.png"
# Without the background-networking flags Chromium keeps trying hosts this closed network refuses.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
WAIT_MS = 30_000
expect.set_options(timeout=WAIT_MS)
# The events the call view shows as transcript lines (one each).
TRANSCRIPT = ("speech.detected", "ai.response", "supervisor.text_sent")
KILL_WAIT_S = 10
STALE = re.compile(r"\bstale\b")


def chromium_missing() -> bool:
    return not CHROMIUM.exists()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if chromium_missing():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium", pytrace=False)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(WAIT_MS)
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    await context.close()
    assert not errors, f"the dashboard threw: {errors}"


async def sign_in(page: Page, phony: PhonyProcess, tenant: TenantHandle) -> None:
    await page.goto(f"{phony.url}/dashboard/")
    await page.fill("#api-key", tenant.key)
    await page.press("#api-key", "Enter")
    await expect(page.locator("#who")).to_have_text("acme")


async def open_call(page: Page, live: LiveInbound) -> None:
    """Open the call from the live list, as a supervisor would."""
    await page.click(f'#live-rows tr[data-call-sid="{live.call.sid}"]')
    await expect(page.locator("#call-sid")).to_have_text(live.call.sid)


async def test_signing_in_keeps_the_key_in_the_session_and_out_of_the_url(
    page: Page, phony: PhonyProcess, tenant: TenantHandle
) -> None:
    await sign_in(page, phony, tenant)
    await expect(page.locator("#view-live")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('phony.apiKey')") == tenant.key
    assert tenant.key not in page.url


async def test_a_wrong_key_is_refused_with_the_servers_message(page: Page, phony: PhonyProcess) -> None:
    await page.goto(f"{phony.url}/dashboard/")
    await page.fill("#api-key", "pk_live_nope")
    await page.press("#api-key", "Enter")
    await expect(page.locator("#signin-error")).to_contain_text("invalid API key")
    assert await page.evaluate("sessionStorage.getItem('phony.apiKey')") is None


async def test_a_call_appears_live_and_its_transcript_grows(
    page: Page, phony: PhonyProcess, tenant: TenantHandle, twilio_sim: TwilioSim, settings: Settings
) -> None:
    await sign_in(page, phony, tenant)
    live = await ring(tenant, twilio_sim, phony, "hold", settings)
    await expect(page.locator(f'#live-rows tr[data-call-sid="{live.call.sid}"]')).to_be_visible()
    await open_call(page, live)
    lines = page.locator("#transcript li")
    await expect(lines.first).to_be_visible()
    seen = await lines.count()
    await page.wait_for_function("n => document.querySelectorAll('#transcript li').length > n", arg=seen)
    await expect(page.locator('#transcript li[data-speaker="caller"]').first).to_be_visible()
    await tenant.client.post("/override/end", json={"callSid": live.call.sid})
    # It leaves the live list when it ends.
    await expect(page.locator(f'#live-rows tr[data-call-sid="{live.call.sid}"]')).to_have_count(0)


async def test_said_text_shows_in_the_timeline_and_reaches_the_model(
    page: Page,
    phony: PhonyProcess,
    tenant: TenantHandle,
    twilio_sim: TwilioSim,
    model_sim: RealtimeSim,
    settings: Settings,
) -> None:
    await sign_in(page, phony, tenant)
    live = await ring(tenant, twilio_sim, phony, "hold", settings)
    await open_call(page, live)
    text = "A colleague will join you in a moment."
    await page.fill("#say-input", text)
    await page.press("#say-input", "Enter")
    await expect(page.locator('#timeline li[data-type="supervisor.text_sent"]')).to_contain_text(text)
    await expect(page.locator('#transcript li[data-speaker="supervisor"]')).to_contain_text(text)
    await expect(page.locator("#latency-chart rect").first).to_be_attached()

    async def creates() -> list[str]:
        found = received(session_of(model_sim, live.caller), "response.create")
        return [str(c.get("response", {}).get("instructions")) for c in found]

    await eventually(creates, lambda sent: any(f"«{text}»" in s for s in sent), within=20)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOT))
    await tenant.client.post("/override/end", json={"callSid": live.call.sid})


async def test_approving_a_held_reply_speaks_it(
    page: Page, phony: PhonyProcess, tenant: TenantHandle, twilio_sim: TwilioSim, settings: Settings
) -> None:
    await sign_in(page, phony, tenant)
    live = await ring(
        tenant, twilio_sim, phony, "default", settings, require_approval=True, greeting_message=None
    )
    await open_call(page, live)
    held = page.locator("#held li").first
    await expect(held.locator("textarea")).to_have_value("Sure. Your order shipped yesterday.")
    response_id = await held.get_attribute("data-response-id")
    await held.locator("button.approve").click()
    await expect(page.locator(f'#held li[data-response-id="{response_id}"]')).to_have_count(0)
    await expect(page.locator('#timeline li[data-type="response.approved"]')).to_be_visible()
    spoken = page.locator('#transcript li[data-speaker="ai"]', has_text="Sure. Your order shipped yesterday.")
    await expect(spoken).to_be_visible()
    await tenant.client.post("/override/end", json={"callSid": live.call.sid})


async def test_an_ended_call_is_in_history_with_a_playable_recording(
    page: Page, phony: PhonyProcess, tenant: TenantHandle, twilio_sim: TwilioSim, settings: Settings
) -> None:
    await sign_in(page, phony, tenant)
    live = await ring(tenant, twilio_sim, phony, "hold", settings)
    await open_call(page, live)
    await expect(page.locator('#transcript li[data-speaker="ai"]').first).to_be_visible()
    await page.click("#end-button")
    await expect(page.locator("#call-status")).to_contain_text("supervisor_ended")
    await wait_for_event(settings, live.call.sid, "call.ended")
    await projected_until(tenant.client, live.call.sid, lambda c: c["status"] == "completed")

    await page.click('#nav a[href="#/history"]')
    await page.select_option("#f-agent", live.agent["id"])
    await page.select_option("#f-status", "completed")
    row = page.locator(f'#history-rows tr[data-call-sid="{live.call.sid}"]')
    await expect(row).to_contain_text("supervisor_ended")
    # Days as the browser has them: the call is on its own day, not among the next day's.
    created = (await tenant.client.get(f"/calls/{live.call.sid}")).json()["created_at"]
    day, next_day = await page.evaluate(
        "at => [0, 1].map(d => new Date(new Date(at).getTime() + d * 86400000).toLocaleDateString('sv'))",
        created,
    )  # YYYY-MM-DD
    await page.fill("#f-from", next_day)
    await page.dispatch_event("#f-from", "change")
    await expect(page.locator("#history-total")).to_have_text("no calls")
    await page.fill("#f-from", day)
    await page.fill("#f-to", day)
    await page.dispatch_event("#f-to", "change")
    await expect(row).to_contain_text("supervisor_ended")
    await row.click()
    recording = page.locator("#recording")
    await expect(recording).to_have_attribute("src", re.compile(r"/recording\?token="))
    src = await recording.get_attribute("src")
    assert src is not None

    async def fetched() -> tuple[int, str]:
        answer = await page.request.get(src)
        return answer.status, answer.headers.get("content-type", "")

    assert await eventually(fetched, lambda r: r[0] == 200) == (200, "audio/wav")
    # The browser itself reads it as audio: its duration becomes known.
    await recording.evaluate("a => { a.preload = 'metadata'; a.load(); }")
    await page.wait_for_function("() => document.getElementById('recording').duration > 0")


async def test_a_refused_action_shows_the_servers_error(
    page: Page, phony: PhonyProcess, tenant: TenantHandle, twilio_sim: TwilioSim, settings: Settings
) -> None:
    await sign_in(page, phony, tenant)
    live = await ring(tenant, twilio_sim, phony, "hold", settings)
    await open_call(page, live)
    await page.fill("#dtmf-input", "12ab")
    await page.press("#dtmf-input", "Enter")
    await expect(page.locator("#call-error")).to_contain_text("422")
    await expect(page.locator("#call-error")).to_contain_text("digits: String should match pattern")
    await tenant.client.post("/override/end", json={"callSid": live.call.sid})


async def test_answering_the_ais_question_clears_it(
    page: Page, phony: PhonyProcess, tenant: TenantHandle, twilio_sim: TwilioSim, settings: Settings
) -> None:
    await sign_in(page, phony, tenant)
    live = await ring(tenant, twilio_sim, phony, "request_user", settings)
    await open_call(page, live)
    await expect(page.locator("#question-text")).to_have_text("What is the caller's balance?")
    await page.fill("#clarify-input", "$42.10")
    await page.press("#clarify-input", "Enter")
    await expect(page.locator('#timeline li[data-type="clarification.answered"]')).to_contain_text("$42.10")
    await expect(page.locator("#question")).to_be_hidden()
    await tenant.client.post("/override/end", json={"callSid": live.call.sid})


async def test_agents_are_created_edited_and_deactivated(
    page: Page, phony: PhonyProcess, tenant: TenantHandle
) -> None:
    await sign_in(page, phony, tenant)
    await page.click('#nav a[href="#/agents"]')
    form = page.locator("#agent-form")
    await form.locator('[name="name"]').fill("Night shift")
    await form.locator('[name="systemPrompt"]').fill("You answer after hours.")
    await form.locator('[name="phoneNumbers"]').fill("12345")
    await form.locator('button[type="submit"]').click()
    await expect(page.locator("#agent-error")).to_contain_text("422 VALIDATION_ERROR: phone_numbers")
    await form.locator('[name="phoneNumbers"]').fill(unique_number())
    await form.locator('button[type="submit"]').click()
    row = page.locator("#agents-rows tr", has_text="Night shift")
    await expect(row).to_contain_text("yes")
    await row.click()
    await form.locator('[name="name"]').fill("Night desk")
    await form.locator('[name="requireApproval"]').check()
    await form.locator('button[type="submit"]').click()
    row = page.locator("#agents-rows tr", has_text="Night desk")
    await expect(row).to_contain_text("held")
    await row.get_by_role("button", name="Deactivate").click()
    await expect(row.locator("td").nth(4)).to_have_text("no")
    [agent] = (await tenant.client.get("/agents/")).json()["agents"]
    assert (agent["name"], agent["require_approval"], agent["is_active"]) == ("Night desk", True, False)


async def test_a_key_revoked_while_the_dashboard_is_open_signs_it_out(
    page: Page, phony: PhonyProcess, tenant: TenantHandle, admin: httpx.AsyncClient
) -> None:
    await sign_in(page, phony, tenant)
    revoked = await admin.delete(f"/tenants/{tenant.id}/api-keys/{tenant.key_id}")
    assert revoked.status_code in (200, 204), revoked.text
    await expect(page.locator("#signin-error")).to_contain_text("revoked")
    await expect(page.locator("#main")).to_be_hidden()
    assert await page.evaluate("sessionStorage.getItem('phony.apiKey')") is None


async def test_a_call_that_ends_while_its_view_is_open_shows_it_ended_and_leaves_the_live_list(
    page: Page, phony: PhonyProcess, tenant: TenantHandle, twilio_sim: TwilioSim, settings: Settings
) -> None:
    await sign_in(page, phony, tenant)
    live = await ring(tenant, twilio_sim, phony, "hold", settings)
    await open_call(page, live)
    status = page.locator("#call-status")
    await expect(status).to_have_class(re.compile(r"\blive\b"))
    await expect(page.locator('#transcript li[data-speaker="ai"]').first).to_be_visible()
    await expect(page.locator("#end-button")).to_be_enabled()

    # Ended elsewhere (another supervisor, an API client), not from this page.
    ended = await tenant.client.post("/override/end", json={"callSid": live.call.sid})
    assert ended.status_code == 200, ended.text
    await expect(status).to_have_text("ended: supervisor_ended")
    await expect(status).to_have_class(re.compile(r"\bended\b"))
    await expect(page.locator('#timeline li[data-type="call.ended"]')).to_have_count(1)
    for control in ("#say-input", "#transfer-input", "#dtmf-input", "#end-button", "#controls button"):
        for each in await page.locator(control).all():
            await expect(each).to_be_disabled()
    await expect(page.locator("#recording")).to_be_attached()
    await expect(page.locator("#nothing-waiting")).to_be_hidden()
    # A stream that stopped because its call ended is no lost connection.
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    row = page.locator(f'#live-rows tr[data-call-sid="{live.call.sid}"]')
    await expect(row).to_have_count(0)

    await page.keyboard.press("Escape")
    await expect(page.locator("#view-live")).to_be_visible()
    await expect(row).to_have_count(0)
    await expect(page.locator("#live-empty")).to_be_visible()


@dataclass
class RestartableEdge:
    """A ``phony edge`` of the test's own, in the session's namespace (same topics, database, Redis and
    settings on every start): the server the dashboard talks to, killed and started again on its port.
    The session's Phony carries the call meanwhile (its media stream and model session): a killed
    ``serve`` would take the call with it, and there would be nothing left to watch resume."""

    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: PhonyProcess | None = None
    runs: int = 0

    async def start(self) -> PhonyProcess:
        self.runs += 1
        logs = self.log_dir / f"restartable-edge-{self.port}-run{self.runs}"
        logs.mkdir(parents=True, exist_ok=True)
        process = PhonyProcess("edge", self.env, port=self.port)
        self.process = process
        process.start(logs)
        await process.ready()
        return process

    def kill(self) -> None:
        """SIGKILL by PID, as a crash would: no shutdown, sockets reset by the kernel."""
        assert self.process is not None
        proc = self.process.proc
        assert proc is not None
        proc.send_signal(signal.SIGKILL)
        try:
            proc.wait(KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"edge {proc.pid} still alive {KILL_WAIT_S}s after SIGKILL") from None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def tail(self) -> str:
        return self.process.tail() if self.process is not None else ""


async def shown_seqs(page: Page, list_id: str) -> list[int]:
    """The seqs of the events a list of the call view shows, in its order."""
    seqs: list[str] = await page.eval_on_selector_all(
        f"#{list_id} li", "lis => lis.map(li => li.dataset.seq)"
    )
    return [int(seq) for seq in seqs]


@pytest.mark.timeout(300)
async def test_a_server_restart_says_reconnecting_then_live_and_shows_what_happened_meanwhile_once(
    page: Page,
    phony: PhonyProcess,
    tenant: TenantHandle,
    twilio_sim: TwilioSim,
    settings: Settings,
    servers: Servers,
    namespace: str,
    sims: SimEnv,
    log_dir: Path,
) -> None:
    edge = RestartableEdge(phony_env(servers, namespace, sims), log_dir)
    live: LiveInbound | None = None
    try:
        await sign_in(page, await edge.start(), tenant)
        live = await ring(tenant, twilio_sim, phony, "hold", settings)  # media on the session's Phony
        sid = live.call.sid
        row = page.locator(f'#live-rows tr[data-call-sid="{sid}"]')
        await expect(row).to_be_visible()
        await open_call(page, live)
        conn, status = page.locator("#conn"), page.locator("#call-status")
        await expect(page.locator('#transcript li[data-speaker="ai"]').first).to_be_visible()
        await expect(conn).to_have_attribute("data-state", "live")
        await expect(conn).to_have_text("● live")
        await expect(status).to_have_class(re.compile(r"\blive\b"))

        edge.kill()
        await expect(conn).to_have_attribute("data-state", "reconnecting")
        await expect(conn).to_contain_text("reconnecting")
        await expect(status).to_have_class(STALE)  # an in-progress call is not shown as current
        await expect(page.locator("#call-live")).to_contain_text("reconnecting")
        await expect(row).to_have_class(STALE)
        await expect(page.locator("#live-stale")).not_to_have_attribute("hidden", "")
        # Nothing more can reach the page now; the call goes on, and its log grows meanwhile.
        shown = await shown_seqs(page, "transcript")
        events = await eventually(
            lambda: call_events(settings, sid),
            lambda evs: any(e.type in TRANSCRIPT and e.seq > shown[-1] for e in evs),
            within=40,
            interval=0.2,
        )
        meanwhile = [e.seq for e in events if e.type in TRANSCRIPT and e.seq > shown[-1]]
        assert await shown_seqs(page, "transcript") == shown, "nothing came through a dead server"

        restarted = await edge.start()
        await expect(conn).to_have_attribute("data-state", "live")
        await expect(status).to_have_class(re.compile(r"\blive\b"))
        await expect(status).not_to_have_class(STALE)
        await expect(page.locator("#call-live")).to_have_text("")
        text = "Back after the restart."
        said = await tenant.client.post(f"{restarted.url}/override/text", json={"callSid": sid, "text": text})
        assert said.status_code == 200, said.text
        await expect(page.locator("#transcript li", has_text=text)).to_have_count(1)

        async def shown_and_logged() -> tuple[list[int], list[int]]:
            on_page = await shown_seqs(page, "transcript")
            logged = [e.seq for e in await call_events(settings, sid) if e.type in TRANSCRIPT]
            return on_page, [seq for seq in logged if seq <= on_page[-1]]

        # Every transcript line of the log, in order, once: those before, during and after the restart.
        on_page, _ = await eventually(shown_and_logged, lambda r: r[0] == r[1], within=20)
        assert set(meanwhile) <= set(on_page), (meanwhile, on_page)
        timeline = await shown_seqs(page, "timeline")
        assert timeline == list(range(1, len(timeline) + 1)), f"timeline seqs {timeline}"
        # The live list was read again: the row is current, not stale.
        await page.keyboard.press("Escape")
        await expect(page.locator("#view-live")).to_be_visible()
        await expect(row).not_to_have_class(STALE)
        await expect(page.locator("#live-stale")).to_be_hidden()
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n--- restartable edge log ---\n{edge.tail()}") from failure
    finally:
        if live is not None:
            await tenant.client.post("/override/end", json={"callSid": live.call.sid})
        edge.stop()
