"""The ops console in a real headless Chromium (Playwright) over real HTTP.

The daemon's app and the fake external service run in this test's event
loop on loopback ports; the browser is Debian's Chromium. A failing test
leaves a screenshot under tests/screenshots/.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet

from daemon.http.console.i18n import CONSOLE_ERRORS, ERRORS_NL, TEXT
from daemon.http.keys import SERVICES
from tests.factories import API_TOKEN, create_campaign, event, linked_campaign

playwright = pytest.importorskip("playwright.async_api")

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which(
    "chromium-browser")
SHOTS = Path(__file__).parent / "screenshots"

if CHROMIUM is None:
    if os.environ.get("CI"):  # .ci/run installs it: a missing browser is a broken CI
        raise RuntimeError("Chromium is not installed (apt-get install chromium)")
    pytestmark = [pytest.mark.browser, pytest.mark.skip(reason="Chromium is not installed")]
else:
    pytestmark = pytest.mark.browser


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    async with playwright.async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM,
                                           args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser, request) -> AsyncIterator[object]:
    context = await browser.new_context(locale="en-US")
    tab = await context.new_page()
    tab.set_default_timeout(10_000)
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(f"{m.type}: {m.text}"))
    tab.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    tab.console_errors = errors
    yield tab
    if getattr(request.node, "failed", False):
        SHOTS.mkdir(exist_ok=True)
        await tab.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)
        print("browser console:", *errors, sep="\n  ")
    await context.close()


async def sign_in(page, base: str) -> None:
    """Sign in from the console's home (the overview), then open the campaigns."""
    await page.goto(f"{base}/ui/")
    await page.fill("#token", API_TOKEN)
    await page.click("form.card button[type=submit]")
    await page.wait_for_url(f"{base}/ui/")
    await page.goto(f"{base}/ui/campaigns")


async def test_sign_in_toggle_on_and_failure_leaves_row_unchanged(make_api, fake, page) -> None:
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    campaign, external_id = await linked_campaign(api, fake, name="Spring outreach")
    failing, failing_remote = await linked_campaign(api, fake, name="Winter outreach")

    # Signed out: the page asks for a token; a wrong one is refused.
    await page.goto(f"{base}/ui/campaigns")
    assert "/ui/signin" in page.url
    await page.fill("#token", "not-the-token")
    await page.click("form.card button[type=submit]")
    assert await page.locator("[role=alert]").inner_text() == TEXT["signin.wrong"][0]
    await sign_in(page, base)
    assert API_TOKEN not in await page.content()

    # Toggle on: one activate call, the success toast, the row shows active.
    switch = page.locator(f"button[data-campaign='{campaign['id']}']")
    assert await switch.get_attribute("aria-checked") == "false"
    await switch.click()
    await page.locator(".toast-ok").wait_for()
    assert await page.locator(".toast-ok").inner_text() == "Campaign activated! ✓"
    assert await switch.get_attribute("aria-checked") == "true"
    row = page.locator(f"#row-{campaign['id']} .status")
    assert await row.get_attribute("data-status") == "active"
    assert len(fake.state.calls_to(method="POST", path_contains=f"{external_id}/activate")) == 1
    assert (await (await api.get(f"/campaigns/{campaign['id']}")).json())["status"] == "active"

    # The external service refuses our key: the error sentence, the row unchanged.
    fake.state.add_fault(status=401, path=f"/api/v2/campaigns/{failing_remote}/activate")
    other = page.locator(f"button[data-campaign='{failing['id']}']")
    before = await page.locator(f"#row-{failing['id']} .status").get_attribute("data-status")
    await other.click()
    await page.locator(".toast-error").wait_for()
    assert await page.locator(".toast-error").inner_text() == (
        "External service authentication failed. Please contact administrator.")
    assert await other.get_attribute("aria-checked") == "false"
    await page.reload()
    assert await page.locator(f"#row-{failing['id']} .status").get_attribute(
        "data-status") == before == failing["status"]
    assert "Instantly" not in await page.content()


async def test_keyboard_only_switch_and_dutch(make_api, fake, page) -> None:
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    campaign, _ = await linked_campaign(api, fake, name="Keyboard campaign")
    await sign_in(page, base)
    await page.goto(f"{base}/ui/campaigns?lang=nl")
    assert await page.locator("h1").inner_text() == TEXT["nav.campaigns"][1]
    # Tab until the switch has focus, then Space: no mouse involved.
    switch = page.locator(f"button[data-campaign='{campaign['id']}']")
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await switch.evaluate("el => el === document.activeElement"):
            break
    else:
        raise AssertionError("the switch never received keyboard focus")
    outline = await switch.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"  # focus is visible
    await page.keyboard.press("Space")
    await page.locator(".toast-ok").wait_for()
    assert await page.locator(".toast-ok").inner_text() == "Campagne geactiveerd! ✓"
    assert await switch.get_attribute("aria-checked") == "true"
    # The language sticks (cookie) and error sentences are Dutch too; crafted ids are
    # "not found", never a 500.
    await page.goto(f"{base}/ui/campaigns/00000000-0000-0000-0000-000000000000")
    assert await page.locator("[role=alert]").inner_text() == ERRORS_NL["campaign_not_found"]
    for path, code in (("/ui/campaigns/not-a-uuid", "campaign_not_found"),
                       ("/ui/drift/99999999999999999999/confirm?action=acknowledge",
                        "finding_not_found"),
                       ("/ui/drift/%C2%B2/confirm?action=acknowledge", "finding_not_found")):
        response = await page.goto(f"{base}{path}")
        assert response.status == 404, path
        assert await page.locator("[role=alert]").inner_text() == ERRORS_NL[code]


async def test_resolve_a_finding_and_a_stale_one_is_refused(make_api, fake, page, db) -> None:
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    first, _ = await linked_campaign(api, fake, name="Drifted A", remote_status=1)
    second, second_remote = await linked_campaign(api, fake, name="Drifted B", remote_status=1)
    await api.post("/reconcile?wait=true")  # local draft vs remote active: two findings
    await sign_in(page, base)
    await page.goto(f"{base}/ui/drift")
    assert await page.locator("tr[id^=finding-]").count() == 2

    # Adopt the remote status of the first: confirmation, then the local row follows.
    await page.locator("tr", has_text="Drifted A").locator(
        "a[href$='action=adopt_remote']").click()
    await page.locator("form.card button[type=submit]").click()
    await page.locator(".toast-ok").wait_for()
    assert await page.locator(".toast-ok").inner_text() == TEXT["drift.resolved"][0]
    assert (await (await api.get(f"/campaigns/{first['id']}")).json())["status"] == "active"

    # The second changes after its confirmation page was shown: refused, current state shown.
    await page.locator("tr", has_text="Drifted B").locator(
        "a[href$='action=adopt_remote']").click()
    fake.state.campaigns[second_remote]["status"] = 4  # still drift, but not as shown
    await api.post("/reconcile?wait=true")
    await page.locator("form.card button[type=submit]").click()
    assert await page.locator("[role=alert]").inner_text() == TEXT["drift.stale"][0]
    assert await page.locator("#current-remote").inner_text() == "active (subsequences)"
    after = (await (await api.get(f"/campaigns/{second['id']}")).json())["status"]
    assert after == second["status"]


async def test_every_page_renders_signed_in(make_api, fake, page) -> None:
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    campaign, _ = await linked_campaign(api, fake, name="Rendered")
    await create_campaign(api, name="Unlinked one")
    await api.post("/reconcile?wait=true")
    await sign_in(page, base)
    for path, heading in (("/ui/campaigns", "Campaigns"), ("/ui/drift", "Open drift findings"),
                          ("/ui/runs", "Reconcile passes"), ("/ui/health", "Sync health"),
                          (f"/ui/campaigns/{campaign['id']}", "Rendered")):
        response = await page.goto(f"{base}{path}")
        assert response.status == 200, path
        assert await page.locator("h1").inner_text() == heading
        content = await page.content()
        assert API_TOKEN not in content and "Instantly" not in content
    # A malformed remote id in the link form: the sentence, and the link unchanged.
    await page.goto(f"{base}/ui/campaigns/{campaign['id']}")
    await page.fill("#external_id", "not an id; DROP TABLE")
    await page.click("form[action$='/link'] button[type=submit]")
    assert await page.locator(".toast-error").inner_text() == TEXT["link.invalid"][0]
    after = (await (await api.get(f"/campaigns/{campaign['id']}")).json())["external_id"]
    assert after == campaign["external_id"]
    await page.goto(f"{base}/ui/drift")
    async with page.expect_download() as download:
        await page.click("a[href^='/ui/drift.csv']")
    saved = await (await download.value).path()
    csv_text = await asyncio.to_thread(Path(saved).read_text)
    assert csv_text.startswith("id,campaign_id,campaign_name")
    await page.goto(f"{base}/ui/health")
    assert await page.locator("#subscription-state").inner_text() == (
        "not configured (WEBHOOK_PUBLIC_URL unset)")


async def test_drift_pages_through_many_findings(make_api, fake, page, db) -> None:
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    await db.fetch("bench_seed_linked", [f"c{i:03d}" for i in range(150)],
                   [f"ext-{i:03d}" for i in range(150)], ["paused"] * 150)
    await db.execute("bench_seed_findings")  # one open status_mismatch each
    await sign_in(page, base)
    await page.goto(f"{base}/ui/drift")
    assert await page.locator("tr[id^=finding-]").count() == 100
    assert await page.locator("#kind-status_mismatch").inner_text() == "Status differs (150)"
    await page.click("a[rel=next]")
    assert await page.locator("tr[id^=finding-]").count() == 50
    assert await page.locator("a[rel=next]").count() == 0
    first_page = await page.goto(f"{base}/ui/drift?cursor=not-ours")
    assert first_page.status == 200  # a crafted cursor starts again from the top
    assert await page.locator("tr[id^=finding-]").count() == 100


def _csrf_of(page: str) -> str:
    return page.split('name="csrf" value="')[1].split('"')[0]


async def sign_in_over_http(http: aiohttp.ClientSession, base: str) -> str:
    """Sign in through the form (no browser); the signed-in session's CSRF token."""
    async with http.get(f"{base}/ui/signin") as resp:
        csrf = _csrf_of(await resp.text())
    async with http.post(f"{base}/ui/signin", data={"csrf": csrf, "token": API_TOKEN},
                         allow_redirects=False) as resp:
        assert resp.status == 303
    async with http.get(f"{base}/ui/campaigns") as resp:
        return _csrf_of(await resp.text())


async def test_post_without_csrf_token_is_refused_and_changes_nothing(make_api, fake) -> None:
    api = await make_api()
    campaign, _ = await linked_campaign(api, fake, name="Guarded")
    base = str(api.make_url("")).rstrip("/")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        # A signed-in session (cookie) but a form without its token.
        await sign_in_over_http(http, base)
        async with http.post(f"{base}/ui/campaigns/{campaign['id']}/toggle",
                             data={"back": "/ui/campaigns"}, allow_redirects=False) as resp:
            assert resp.status == 403
        async with http.post(f"{base}/ui/campaigns/{campaign['id']}/toggle",
                             data={"csrf": "0" * 32}, allow_redirects=False) as resp:
            assert resp.status == 403
    after = (await (await api.get(f"/campaigns/{campaign['id']}")).json())["status"]
    assert after == campaign["status"]
    assert not fake.state.calls_to(method="POST", path_contains="/activate")


async def test_console_changes_are_audited_as_the_console(make_api, fake) -> None:
    """The history tells the ops console's changes from the agency's API calls."""
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    switched, _ = await linked_campaign(api, fake, name="Switched in the console")
    in_bulk, _ = await linked_campaign(api, fake, name="Bulk in the console")
    by_api, _ = await linked_campaign(api, fake, name="Switched through the API")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await sign_in_over_http(http, base)
        async with http.post(f"{base}/ui/campaigns/{switched['id']}/toggle",
                             data={"csrf": csrf, "back": "/ui/campaigns"},
                             allow_redirects=False) as resp:
            assert resp.status == 303
        async with http.post(f"{base}/ui/campaigns/bulk",
                             data={"csrf": csrf, "action": "activate", "ids": in_bulk["id"]},
                             allow_redirects=False) as resp:
            assert resp.status == 200  # the page of results
    assert (await api.post(f"/campaigns/{by_api['id']}/toggle")).status == 200
    paused = await api.post("/campaigns/status",
                            json={"campaign_ids": [by_api["id"]], "status": "paused"})
    assert paused.status == 200

    async def audit(campaign: dict) -> list[tuple[str, str, str | None]]:
        body = await (await api.get(f"/campaigns/{campaign['id']}/history")).json()
        return sorted((c["source"], c["to_status"], c["external_action"])
                      for c in body["items"])

    assert await audit(switched) == [("console", "active", "activate")]
    assert await audit(in_bulk) == [("console", "active", "activate")]
    assert await audit(by_api) == [("api", "active", "activate"), ("bulk", "paused", None)]


def test_every_error_sentence_has_a_dutch_form_that_never_names_the_service() -> None:
    from daemon.errors import ERRORS

    assert set(ERRORS_NL) == set(ERRORS)
    for text in (*ERRORS_NL.values(), *(s for pair in TEXT.values() for s in pair)):
        assert "instantly" not in text.lower(), text


async def test_a_bulk_change_with_one_failing_row_shows_every_row(make_api, fake, page) -> None:
    """One row's external call fails: the page lists both rows, the failure with its
    sentence, never a 500 for a change that partly happened."""
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    good, _ = await linked_campaign(api, fake, name="Bulk good")
    bad, bad_remote = await linked_campaign(api, fake, name="Bulk bad")
    fake.state.add_fault(path=f"/{bad_remote}/activate", status=404)
    await sign_in(page, base)
    for campaign in (good, bad):
        await page.check(f"#row-{campaign['id']} input[type=checkbox]")
    response = None
    async with page.expect_navigation() as navigation:
        await page.click("#bulk button[value=activate]")
    response = await navigation.value
    assert response.status == 200
    rows = page.locator("ul.results li")
    assert await rows.count() == 2
    assert await page.locator("ul.results li.ok").inner_text() == \
        f"Bulk good: {TEXT['toast.activated'][0]}"
    failed = await page.locator("ul.results li.error").inner_text()
    assert failed.startswith("Bulk bad: ")
    assert "Campaign not found in external service" in failed


async def test_a_tab_whose_session_ended_says_so_and_returns_after_sign_in(
        make_api, fake, page) -> None:
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    campaign, _ = await linked_campaign(api, fake, name="Open tab campaign")
    await sign_in(page, base)
    switch = page.locator(f"button[data-campaign='{campaign['id']}']")
    await page.context.clear_cookies()  # the session ends while the tab stays open
    await switch.click()
    await page.locator(".toast-error").wait_for()
    assert await page.locator(".toast-error").inner_text() == TEXT["signin.ended"][0]
    assert await switch.get_attribute("aria-checked") == "false"
    # A form posted from the same tab lands on the sign-in page, which says why, shows
    # no navigation or sign-out, and returns to the page after signing in.
    await page.check(f"#row-{campaign['id']} input[type=checkbox]")
    await page.click("#bulk button[value=activate]")
    await page.wait_for_url(f"{base}/ui/signin?**")
    assert await page.locator("p[role=status]").inner_text() == TEXT["signin.ended"][0]
    assert await page.locator("header nav a[href='/ui/drift']").count() == 0
    assert await page.locator("form[action='/ui/signout']").count() == 0
    await page.fill("#token", API_TOKEN)
    await page.click("form.card button[type=submit]")
    await page.wait_for_url(f"{base}/ui/campaigns")
    assert (await (await api.get(f"/campaigns/{campaign['id']}")).json())["status"] == "draft"


async def test_signing_out_says_so_on_a_sign_in_page_without_navigation(make_api, page
                                                                       ) -> None:
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    await sign_in(page, base)
    await page.click("form[action='/ui/signout'] button")
    await page.wait_for_url(f"{base}/ui/signin?**")
    assert await page.locator("p[role=status]").inner_text() == TEXT["signin.signed_out"][0]
    assert await page.locator("header nav a[href='/ui/campaigns']").count() == 0
    assert await page.locator("form[action='/ui/signout']").count() == 0


async def test_the_drift_page_offers_per_kind_only_the_resolutions_that_can_work(
        make_api, fake, page) -> None:
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    await linked_campaign(api, fake, name="Mismatch", remote_status=1)  # local draft
    await linked_campaign(api, fake, name="Unhealthy", remote_status=-1)
    await linked_campaign(api, fake, name="Completed", remote_status=3)
    _, gone = await linked_campaign(api, fake, name="Missing", remote_status=2)
    fake.state.delete_campaign(gone)
    await api.post("/reconcile?wait=true")
    await sign_in(page, base)
    await page.goto(f"{base}/ui/drift")

    async def offered(name: str) -> list[str]:
        links = page.locator("tr", has_text=name).locator("td.actions a")
        return [(await links.nth(i).get_attribute("href")).rsplit("=", 1)[1]
                for i in range(await links.count())]

    assert await offered("Mismatch") == ["adopt_remote", "push_local", "acknowledge"]
    assert await offered("Completed") == ["adopt_remote", "acknowledge"]
    assert await offered("Unhealthy") == ["acknowledge"]
    assert await offered("Missing") == ["acknowledge"]


async def test_signing_out_ends_the_session_even_for_a_copy_of_its_cookie(
        make_api, browser, page) -> None:
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    await sign_in(page, base)
    kept = [c for c in await page.context.cookies() if c["name"] == "isync_session"]
    assert kept
    await page.click("form[action='/ui/signout'] button")
    await page.wait_for_url(f"{base}/ui/signin?**")
    other = await browser.new_context()
    try:
        await other.add_cookies(kept)  # the cookie as it was before signing out
        tab = await other.new_page()
        await tab.goto(f"{base}/ui/campaigns")
        assert "/ui/signin" in tab.url
    finally:
        await other.close()


async def test_an_acknowledged_finding_is_listed_with_when_and_how_and_can_be_reopened(
        make_api, fake, page) -> None:
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    await linked_campaign(api, fake, name="Known drift", remote_status=1)
    await api.post("/reconcile?wait=true")
    await sign_in(page, base)
    await page.goto(f"{base}/ui/drift")
    await page.locator("tr", has_text="Known drift").locator(
        "a[href$='action=acknowledge']").click()
    await page.fill("#note", "waiting for the client")
    await page.locator("form.card button[type=submit]").click()
    await page.locator(".toast-ok").wait_for()
    assert await page.locator(".toast-ok").inner_text() == TEXT["drift.acknowledged"][0]
    assert await page.locator("tr", has_text="Known drift").count() == 0  # not open
    await page.click("nav.tabs a[href='/ui/drift?state=acknowledged']")
    row = page.locator("#acknowledged tr", has_text="Known drift")
    cells = [await row.locator("td").nth(i).inner_text() for i in range(5)]
    assert cells[3:] == ["console", "waiting for the client"]
    await row.locator("a[href$='action=reopen']").click()
    await page.locator("form.card button[type=submit]").click()
    await page.locator(".toast-ok").wait_for()
    assert await page.locator(".toast-ok").inner_text() == TEXT["drift.reopened"][0]
    await page.goto(f"{base}/ui/drift")
    assert await page.locator("tr", has_text="Known drift").count() == 1
    [finding] = (await (await api.get("/drift")).json())["items"]
    assert (finding["state"], finding["acknowledged_at"]) == ("open", None)
    resp = await api.post(f"/drift/{finding['id']}/resolve", json={"action": "reopen"})
    assert (resp.status, (await resp.json())["error"]["code"]) == (
        409, "finding_not_acknowledged")


async def test_small_things_a_new_operator_noticed(make_api, fake, page) -> None:
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    campaign, _ = await linked_campaign(api, fake, name="Small things")
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    await sign_in(page, base)
    # The switch's name does not claim a state; role=switch and aria-checked say it.
    switch = page.locator(f"button[data-campaign='{campaign['id']}']")
    assert await switch.get_attribute("aria-label") == "Campaign Small things"
    assert await switch.get_attribute("aria-checked") == "false"
    # The skip link says what it does.
    assert await page.locator("a.skip").inner_text() == TEXT["skip"][0]
    # No request for /favicon.ico (it answered 401 on every page).
    assert not [u for u in requested if u.endswith("/favicon.ico")]
    # Switching language keeps the filters.
    await page.goto(f"{base}/ui/campaigns?client=acme&status=draft")
    await page.click("a[hreflang=nl]")
    assert "client=acme" in page.url and "status=draft" in page.url and "lang=nl" in page.url
    assert await page.locator("select[name=status]").input_value() == "draft"
    # A bad cursor is a Dutch sentence to the end.
    await page.goto(f"{base}/ui/campaigns?cursor=not-a-cursor")
    assert await page.locator("[role=alert]").inner_text() == (
        "Ongeldige parameter cursor: is geen geldige cursor.")
    # An unknown console path is the console's page, not JSON.
    response = await page.goto(f"{base}/ui/nope")
    assert response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    assert await page.locator("[role=alert]").inner_text() == "Dit adres bestaat niet."
    # A resolution the page does not offer: a sentence without the API's raw codes.
    fake.state.set_status(campaign["external_id"], -1)  # unhealthy: acknowledge only
    await api.post("/reconcile?wait=true")
    [finding] = (await (await api.get("/drift")).json())["items"]
    for chosen in ("adopt_remote", "bogus"):
        await page.goto(f"{base}/ui/drift/{finding['id']}/confirm?action={chosen}&lang=en")
        sentence = await page.locator("[role=alert]").inner_text()
        assert sentence == CONSOLE_ERRORS["invalid_action"][0]
        assert "adopt_remote" not in sentence and "_" not in sentence


async def test_a_switch_updates_the_remote_status_and_its_toast_is_not_in_the_way(
        make_api, fake, page) -> None:
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    campaign, _ = await linked_campaign(api, fake, name="Remote cell", remote_status=2)
    await api.post("/reconcile?wait=true")  # records the remote status: paused
    await sign_in(page, base)
    row = page.locator(f"#row-{campaign['id']}")
    assert await row.locator(".remote").inner_text() == "paused"
    await row.locator("button.switch").click()
    await page.locator(".toast-ok").wait_for()
    assert await row.locator(".remote").inner_text() == "active"  # without a reload
    assert await page.locator(".toast-ok").inner_text() == "Campaign activated! ✓"
    pointer = await page.locator("#toasts").evaluate("el => getComputedStyle(el).pointerEvents")
    assert pointer == "none"  # a switch under the toast can still be clicked


async def test_the_overview_is_the_home_and_every_figure_links_to_its_page(
        make_api, fake, page) -> None:
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    await linked_campaign(api, fake, name="Overview drift", remote_status=1)  # local draft
    campaign, _ = await linked_campaign(api, fake, name="Overview active", remote_status=2)
    await api.put(f"/campaigns/{campaign['id']}/status", json={"status": "active"})
    await api.post("/reconcile?wait=true")
    figures = await (await api.get("/overview")).json()
    assert [(d["kind"], d["open"]) for d in figures["drift"]] == [("status_mismatch", 1)]
    assert figures["campaigns"] == {"draft": 1, "active": 1, "paused": 0, "completed": 0}
    assert (figures["calls"]["calls"], figures["calls"]["success_rate"]) == (1, 1.0)
    assert figures["last_run"]["status"] == "succeeded"
    assert figures["next_run_at"] is None  # RECONCILE_INTERVAL_SECONDS=0 in the tests

    await sign_in(page, base)
    await page.goto(f"{base}/ui/")
    assert await page.locator("h1").inner_text() == TEXT["overview.title"][0]
    assert "1 calls, 100.0 % succeeded" in await page.locator("#ov-calls-figures").inner_text()
    assert "succeeded" in await page.locator("#ov-last-run").inner_text()
    await page.click("a[href='/ui/drift?kind=status_mismatch']")
    assert await page.locator("tr", has_text="Overview drift").count() == 1
    await page.goto(f"{base}/ui/")
    await page.click("a[href='/ui/campaigns?status=active']")
    assert await page.locator("select[name=status]").input_value() == "active"
    assert await page.locator("tbody tr").count() == 1


async def test_statuses_are_badges_in_words_and_a_disagreement_says_why(
        make_api, fake, page) -> None:
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    drifted, _ = await linked_campaign(api, fake, name="Says active", remote_status=1)
    sending, _ = await linked_campaign(api, fake, name="Still sending", remote_status=2)
    await api.put(f"/campaigns/{sending['id']}/status", json={"status": "active"})
    await api.put(f"/campaigns/{sending['id']}/status", json={"status": "paused"})
    in_step, _ = await linked_campaign(api, fake, name="In step", remote_status=0)
    await api.post("/reconcile?wait=true")
    await sign_in(page, base)

    async def row(campaign: dict) -> tuple[str | None, str]:
        r = page.locator(f"#row-{campaign['id']}")
        why = r.locator(".why")
        return (await r.get_attribute("class"),
                await why.inner_text() if await why.count() else "")

    assert await row(drifted) == (
        "disagrees", "The external service says active, here it is draft.")
    assert await row(sending) == ("disagrees", "Paused here only: it is still sending.")
    assert await row(in_step) == (None, "")
    badge = page.locator(f"#row-{drifted['id']} .status.badge")
    assert (await badge.inner_text(), await badge.get_attribute("data-status")) == (
        "draft", "draft")  # colour by data-status, and the words


async def test_charts_have_axes_hover_values_ranges_and_say_when_empty(
        make_api, fake, browser, page) -> None:
    api = await make_api(WEBHOOK_SECRET="chart-secret")
    base = str(api.make_url("")).rstrip("/")
    await sign_in(page, base)
    await page.goto(f"{base}/ui/health")
    empties = page.locator(".chart-empty")
    assert await empties.all_inner_texts() == [
        TEXT["chart.no_events"][0]] + [TEXT["chart.no_calls"][0]] * 4  # 3 + the budget
    assert await page.locator("svg.chart").count() == 0  # never a blank axis

    campaign, external_id = await linked_campaign(api, fake, name="Charted")
    for kind in ("email_sent", "email_sent", "reply_received"):
        answer = await api.post("/webhooks/instantly", json=event(kind, external_id),
                                headers={"X-Webhook-Secret": "chart-secret"})
        assert answer.status == 200
    await api.post(f"/campaigns/{campaign['id']}/toggle")  # one activate call
    await api.server.app[SERVICES].calls.flush()  # written within a second anyway
    await page.reload()
    events_chart = page.locator("figure", has_text=TEXT["chart.events"][0].split(",")[0]).locator(
        "svg.chart")
    assert await page.locator(".chart-empty").count() == 0
    # The y axis: round ticks from 0, gridlines, the unit; the last hour's hover value.
    ticks = await events_chart.locator("text.tick[text-anchor=end]").all_text_contents()
    assert ticks[0] == "0" and int(ticks[-1]) >= 3
    assert await events_chart.locator("line.grid").count() == len(ticks)
    assert await events_chart.locator(".axis-title").text_content() == "events per hour"
    last_hour = events_chart.locator("g > title").last
    assert (await last_hour.inner_html()).endswith(": 3")
    rate = page.locator("figure", has_text=TEXT["chart.success"][0].split(",")[0])
    assert (await rate.locator("g > title").last.inner_html()).endswith(": 100 %")
    # 7 days: six-hour bins, the link marked current, the same events counted.
    await page.click("nav.span a:text-is('7 d')")
    assert "range=7d" in page.url
    assert await page.locator("nav.span a[aria-current]").inner_text() == "7 d"
    assert await events_chart.locator(".axis-title").text_content() == "events per 6 hours"
    assert await events_chart.locator("g").count() == 28
    assert (await events_chart.locator("g > title").last.inner_html()).endswith(": 3")
    # In Dutch, and readable with scripts off (the SVG is drawn by the server).
    context = await browser.new_context(java_script_enabled=False)
    plain = await context.new_page()
    await plain.context.add_cookies(await page.context.cookies())
    await plain.goto(f"{base}/ui/health?range=30d&lang=nl")
    assert await plain.locator("svg.chart .axis-title").first.text_content() == "per dag"
    assert "van 30 perioden gemeten" in await plain.locator("svg.chart").first.get_attribute(
        "aria-label")
    await context.close()


async def _refreshed(page, times: int = 1) -> None:
    """Wait (by condition, not by clock) until the page refreshed itself `times` more."""
    for _ in range(times):
        before = await page.evaluate("document.body.dataset.refreshedAt || ''")
        await page.wait_for_function(
            "(before) => (document.body.dataset.refreshedAt || '') !== before", arg=before)


async def test_pages_follow_changes_without_reload_and_rest_while_hidden(
        make_api, fake, page) -> None:
    api = await make_api(CONSOLE_REFRESH_SECONDS="0.2", WEBHOOK_SECRET="live-secret",
                         WEBHOOK_PUBLIC_URL="https://sync.example.com/webhooks/instantly")
    base = str(api.make_url("")).rstrip("/")
    first, _ = await linked_campaign(api, fake, name="Live one")
    second, _ = await linked_campaign(api, fake, name="Live two")
    await sign_in(page, base)
    assert await page.evaluate("document.body.dataset.live") == "on"

    # A change made elsewhere (the API) shows up in the open page.
    await api.put(f"/campaigns/{first['id']}/status", json={"status": "active"})
    await page.locator(f"#row-{first['id']} .status[data-status=active]").wait_for()

    # A row someone is selecting is left alone; the other rows still follow.
    await page.check(f"#row-{second['id']} input[type=checkbox]")
    await api.put(f"/campaigns/{second['id']}/status", json={"status": "active"})
    await api.put(f"/campaigns/{first['id']}/status", json={"status": "paused"})
    await page.locator(f"#row-{first['id']} .status[data-status=paused]").wait_for()
    await _refreshed(page)
    assert await page.locator(f"#row-{second['id']} .status").get_attribute(
        "data-status") == "draft"
    assert await page.is_checked(f"#row-{second['id']} input[type=checkbox]")

    # Hidden: no refreshing; visible again: refreshed at once.
    await page.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    assert await page.evaluate("document.body.dataset.live") == "paused"
    await page.uncheck(f"#row-{second['id']} input[type=checkbox]")
    await page.locator("h1").click()  # focus out of the row
    await page.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    await page.locator(f"#row-{second['id']} .status[data-status=active]").wait_for()

    # The overview follows a reconcile pass; the health page's refreshes never call out.
    await page.goto(f"{base}/ui/")
    fake.state.set_status(first["external_id"], 3)  # completed remotely
    await api.post("/reconcile?wait=true")
    await page.locator("#overview a[href^='/ui/drift?kind=']").first.wait_for()
    # The drift page follows the next pass: a new finding appears in its group.
    await page.goto(f"{base}/ui/drift")
    assert await page.locator("tr", has_text="Live two").count() == 0
    fake.state.set_status(second["external_id"], 3)
    await api.post("/reconcile?wait=true")
    await page.locator("#finding-list tr", has_text="Live two").wait_for()
    await page.goto(f"{base}/ui/health")
    listed = len(fake.state.calls_to(method="GET", path_contains="/api/v2/webhooks"))
    await _refreshed(page, times=3)
    assert len(fake.state.calls_to(method="GET", path_contains="/api/v2/webhooks")) == listed


async def test_drift_groups_line_up_and_long_ids_are_short_but_whole_on_hover_and_copy(
        make_api, fake, page) -> None:
    api = await make_api()
    base = str(api.make_url("")).rstrip("/")
    _, mismatch_id = await linked_campaign(api, fake, name="A mismatch with a long name",
                                           remote_status=1)
    await linked_campaign(api, fake, name="Gone", remote_status=-1)
    await api.post("/reconcile?wait=true")
    await sign_in(page, base)
    await page.goto(f"{base}/ui/drift")
    tables = page.locator("table.findings")
    assert await tables.count() == 2  # two kinds, two groups

    async def column_edges(table) -> list[float]:
        heads = table.locator("th")
        return [round((await heads.nth(i).bounding_box())["x"])
                for i in range(await heads.count())]

    assert await column_edges(tables.nth(0)) == await column_edges(tables.nth(1))
    cell = page.locator("tr", has_text="A mismatch").locator("code.id")
    assert await cell.get_attribute("title") == mismatch_id
    assert (await cell.evaluate("c => c.getBoundingClientRect().width")) < 120
    assert await cell.text_content() == mismatch_id  # a copy of the cell copies it whole
    age = page.locator("tr", has_text="A mismatch").locator("time")
    assert (await age.inner_text()).endswith(" s") or "min" in await age.inner_text()
    assert (await age.get_attribute("title")).endswith(" UTC")


async def test_suspending_syncing_from_the_overview_shows_a_banner_everywhere(
        make_api, fake, page, browser) -> None:
    api = await make_api(API_TOKENS="ops:ops-console-token,viewer:viewer-console-token",
                         ADMIN_TOKENS="ops")
    base = str(api.make_url("")).rstrip("/")
    campaign, external_id = await linked_campaign(api, fake, name="Held back")
    await page.goto(f"{base}/ui/")
    await page.fill("#token", "ops-console-token")
    await page.click("form.card button[type=submit]")
    await page.wait_for_url(f"{base}/ui/")
    assert await page.locator(".banner").count() == 0
    assert await page.locator("#sync-state").inner_text() == TEXT["sync.state_on"][0]
    # The reason and the confirmation are both required (the browser asks first).
    await page.fill("#reason", "Key rotation")
    await page.evaluate("document.querySelector('.suspend-form').noValidate = true")
    await page.click(".suspend-form button[type=submit]")
    assert await page.locator(".toast-error").inner_text() == TEXT["sync.confirm_needed"][0]
    assert (await (await api.get("/sync", headers={
        "Authorization": "Bearer ops-console-token"})).json())["suspended"] is False
    await page.fill("#reason", "Key rotation")
    await page.check("input[name=confirm]")
    await page.click(".suspend-form button[type=submit]")
    assert await page.locator(".toast-ok").inner_text() == TEXT["sync.suspended_done"][0]
    # Every page says so; a switch of a linked campaign is refused with who and why.
    await page.goto(f"{base}/ui/campaigns")
    banner = await page.locator(".banner").inner_text()
    assert "ops (console)" in banner and "Key rotation" in banner
    await page.locator(f"button[data-campaign='{campaign['id']}']").click()
    refused = await page.locator(".toast-error").inner_text()
    assert "suspended" in refused and "Key rotation" in refused
    assert fake.state.calls_to(method="POST", path_contains=external_id) == []
    await page.goto(f"{base}/ui/health?lang=nl")
    row = page.locator("#suspensions + table tbody tr").first
    assert "ops (console)" in await row.inner_text() and "nog onderbroken" in await row.inner_text()
    # A session of a token that is not an admin sees the state, not the control.
    viewer = await browser.new_context()
    other = await viewer.new_page()
    await other.goto(f"{base}/ui/")
    await other.fill("#token", "viewer-console-token")
    await other.click("form.card button[type=submit]")
    await other.wait_for_url(f"{base}/ui/")
    assert await other.locator(".sync-control form").count() == 0
    assert TEXT["sync.admin_only"][0] in await other.locator(".sync-control").inner_text()
    await viewer.close()
    # Resumed: the banner goes (also from an open page, by its refresh).
    await page.goto(f"{base}/ui/?lang=en")
    await page.click(".sync-control button[type=submit]")
    assert await page.locator(".toast-ok").inner_text() == TEXT["sync.resumed_done"][0]
    assert await page.locator(".banner").count() == 0


async def test_the_health_page_shows_the_budget_spent_against_its_limit(
        make_api, fake, page, db) -> None:
    api = await make_api(INSTANTLY_MAX_RPM="120")
    base = str(api.make_url("")).rstrip("/")
    await sign_in(page, base)
    await page.goto(f"{base}/ui/health")
    assert await page.locator("#budget + p + figure .chart-empty").count() == 1
    fake.state.add_fault(status=429, retry_after=0, path="/activate")
    for i in range(3):
        campaign, _ = await linked_campaign(api, fake, name=f"Budget {i}")
        await api.post(f"/campaigns/{campaign['id']}/toggle")
    services = api.server.app[SERVICES]
    await services.calls.flush()  # what the recorder writes within a second anyway
    await page.reload()
    chart = page.locator("#budget + p + figure svg.chart")
    assert await chart.locator("line.limit").count() == 1
    assert (await chart.locator(".limit-label").text_content()) == "limit 120"
    # Seven attempts: three reads checking the links, four activations (one 429); the
    # chart's hover value is the busiest minute of them (they may straddle a minute).
    busiest = await db.pool.fetchval(  # in the last hour's bin, the one hovered
        "SELECT max(n) FROM (SELECT count(*) AS n FROM external_calls"
        " WHERE at >= (SELECT date_trunc('hour', max(at)) FROM external_calls)"
        " GROUP BY date_trunc('minute', at)) m")
    assert busiest >= 1 and await db.pool.fetchval("SELECT count(*) FROM external_calls") == 7
    assert (await chart.locator("g > title").last.inner_html()).endswith(f": {busiest}")
    assert await page.locator("#budget-429").inner_text() == "1"
    rows = await page.locator("#by-action tbody tr").all_inner_texts()
    assert [r.split("\t") for r in rows] == [["activate", "429", "1"], ["activate", "ok", "3"],
                                             ["get", "ok", "3"]]


async def test_workspaces_have_a_column_a_filter_and_an_overview_row(make_api, fake, page
                                                                     ) -> None:
    """Two workspaces: the campaigns and drift pages show and filter by workspace, the
    overview has a row per workspace with its figures and a failing listing's error."""
    beta_key = "key-of-workspace-beta"
    beta = fake.add_workspace(beta_key)
    api = await make_api(WORKSPACE_KEYS=Fernet.generate_key().decode(), INSTANTLY_MAX_RETRIES="0")
    base = str(api.make_url("")).rstrip("/")
    assert (await api.post("/workspaces", json={"name": "beta", "api_key": beta_key})).status == 201
    assert (await api.post("/workspaces/beta/clients", json={"client_id": "bravo"})).status == 200
    await linked_campaign(api, fake, name="Alpha drifted", remote_status=1)  # local draft
    remote = beta.add_campaign(name="Bravo drifted", status=1)
    await api.post("/campaigns", json={"client_id": "bravo", "name": "Bravo drifted",
                                       "external_id": remote["id"]})
    assert (await (await api.post("/reconcile?wait=true")).json())["status"] == "succeeded"
    fake.workspaces.pop(beta_key)  # beta's key revoked: its next listing fails
    assert (await (await api.post("/reconcile?wait=true")).json())["status"] == "failed"
    figures = await (await api.get("/overview")).json()
    rows = {w["name"]: w for w in figures["workspaces"]}
    assert (rows["default"]["open_drift"], rows["default"]["listing"]) == (1, "succeeded")
    assert (rows["beta"]["open_drift"], rows["beta"]["listing"]) == (1, "failed")
    assert "ExternalAuthFailed" in rows["beta"]["listing_error"]
    assert [(d["kind"], d["open"]) for d in figures["drift"]] == [("status_mismatch", 2)]

    await sign_in(page, base)
    await page.goto(f"{base}/ui/")
    row = page.locator("#ws-beta")
    assert "failed" in await row.inner_text() and "ExternalAuthFailed" in await row.inner_text()
    await row.locator("a[href='/ui/drift?workspace=beta']").click()
    assert await page.locator("select[name=workspace]").input_value() == "beta"
    assert await page.locator("tr", has_text="Bravo drifted").count() == 1
    assert await page.locator("tr", has_text="Alpha drifted").count() == 0
    await page.goto(f"{base}/ui/campaigns")
    assert await page.locator("th", has_text="Workspace").count() == 1
    await page.select_option("select[name=workspace]", "default")
    await page.click("form.filters button[type=submit]")
    await page.wait_for_url("**workspace=default**")
    assert await page.locator("tbody tr").count() == 1
    assert "Alpha drifted" in await page.locator("tbody").inner_text()


async def test_an_admin_manages_workspaces_in_the_console_and_keys_never_show(
        make_api, fake, page) -> None:
    beta_key, rotated = "key-of-workspace-beta", "key-of-workspace-beta-2"
    beta = fake.add_workspace(beta_key)
    api = await make_api(WORKSPACE_KEYS=Fernet.generate_key().decode())
    base = str(api.make_url("")).rstrip("/")
    await sign_in(page, base)
    await page.goto(f"{base}/ui/workspaces")
    assert await page.locator("#workspaces tbody tr").count() == 1  # default only
    # A key the external service refuses is not stored; the form says why.
    await page.fill("#ws-name", "beta")
    await page.fill("#ws-key", "not-a-known-key")
    await page.click("form.ws-add button[type=submit]")
    await page.wait_for_url(f"{base}/ui/workspaces")
    assert "authentication failed" in (await page.locator(".toast-error").inner_text()).lower()
    assert await page.locator("#workspaces tbody tr").count() == 1
    await page.fill("#ws-name", "beta")
    await page.fill("#ws-key", beta_key)
    await page.fill("#ws-rps", "5")
    await page.click("form.ws-add button[type=submit]")
    await page.wait_for_url(f"{base}/ui/workspaces")
    row = page.locator("#ws-row-beta")
    assert "stored" in await row.inner_text() and "5.0/s" in await row.inner_text()
    await page.fill("#client-beta", "bravo")
    await page.click("form[action='/ui/workspaces/beta/clients'] button")
    await page.wait_for_url(f"{base}/ui/workspaces")
    assert (await page.locator("#ws-row-beta td").nth(5).inner_text()) == "1"
    beta_state = fake.workspaces.pop(beta_key)
    fake.workspaces[rotated] = beta_state
    await page.fill("#key-beta", rotated)
    await page.click("form[action='/ui/workspaces/beta/key'] button")
    await page.wait_for_url(f"{base}/ui/workspaces")
    assert "replaced" in await page.locator("#ws-row-beta").inner_text()
    await page.click("form[action='/ui/workspaces/beta/enabled'] button")
    await page.wait_for_url(f"{base}/ui/workspaces")
    assert "disabled" in await page.locator("#ws-row-beta").inner_text()
    listed = await (await api.get("/workspaces")).json()
    assert [(w["name"], w["enabled"], w["max_rps"]) for w in listed["workspaces"]] == [
        ("default", True, 1000.0), ("beta", False, 5.0)]
    html = await page.content()
    for secret in (beta_key, rotated, "not-a-known-key"):
        assert secret not in html
    assert beta is beta_state.state  # the same workspace at the fake, under its new key


async def test_a_viewer_sees_workspaces_but_cannot_change_them(make_api, fake, page) -> None:
    api = await make_api(API_TOKENS=f"ops:{API_TOKEN},viewer:view-token", ADMIN_TOKENS="ops")
    base = str(api.make_url("")).rstrip("/")
    await page.goto(f"{base}/ui/")
    await page.fill("#token", "view-token")
    await page.click("form.card button[type=submit]")
    await page.wait_for_url(f"{base}/ui/")
    await page.goto(f"{base}/ui/workspaces")
    assert await page.locator("#workspaces tbody tr").count() == 1
    assert await page.locator("form.ws-add").count() == 0
    assert "admin token" in await page.locator("main").inner_text()


async def test_the_budget_section_shows_one_workspace_against_its_own_limit(make_api, fake, db
                                                                           ) -> None:
    beta_key = "key-of-workspace-beta"
    beta = fake.add_workspace(beta_key)
    api = await make_api(WORKSPACE_KEYS=Fernet.generate_key().decode())
    assert (await api.post("/workspaces", json={"name": "beta", "api_key": beta_key,
                                                "max_rpm": 60})).status == 201
    await api.post("/workspaces/beta/clients", json={"client_id": "bravo"})
    remote = beta.add_campaign(name="Bravo", status=2)
    created = await (await api.post("/campaigns", json={
        "client_id": "bravo", "name": "Bravo", "external_id": remote["id"]})).json()
    assert (await api.post(f"/campaigns/{created['id']}/toggle")).status == 200
    await linked_campaign(api, fake, name="Alpha")
    await api.server.app[SERVICES].calls.flush()
    base = str(api.make_url("")).rstrip("/")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await sign_in_over_http(http, base)
        pages = {}
        for name in ("default", "beta"):
            async with http.get(f"{base}/ui/health?workspace={name}") as resp:
                pages[name] = await resp.text()
    beta_page = pages["beta"].split('id="budget"')[1]
    assert "Workspace beta, shared by every replica" in beta_page and "limit 60" in beta_page
    # beta's own calls only (the read of the link, the activation); the default
    # workspace's read of its link is not counted here, nor is the key check made
    # before beta existed counted against the default's budget.
    rows = beta_page.split('id="by-action"')[1].split("</table>")[0]
    assert "activate" in rows and "get" in rows and "list" not in rows
    default_rows = pages["default"].split('id="by-action"')[1].split("</table>")[0]
    assert "activate" not in default_rows and "get" in default_rows
    assert "list" not in default_rows
    assert "limit 1,000,000" in pages["default"] or "limit 1000000" in pages["default"]
