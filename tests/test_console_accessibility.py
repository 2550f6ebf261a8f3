"""axe-core on every console page, in English and Dutch: no serious or critical
violation, decided or undecided (WCAG 2.1 A and AA rules and axe's best practices).

axe is vendored from its npm package into tests/vendor/axe-core (see its README);
the page's CSP forbids injected scripts, so this test's browser context bypasses
CSP (the pages themselves are unchanged).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.factories import event, linked_campaign
from tests.test_console import CHROMIUM, SHOTS, sign_in

playwright = pytest.importorskip("playwright.async_api")

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
FAILING = ("serious", "critical")

pytestmark = [pytest.mark.browser] + (
    [pytest.mark.skip(reason="Chromium is not installed")] if CHROMIUM is None else [])

# Violations, and what axe could not decide (for example a colour contrast it could
# not measure): undecided counts as failing, except for text in the SVG charts, whose
# tick labels ("0", "25") are too short for axe to judge and are drawn in --muted.
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations", "incomplete"]});
  const outsideCharts = n => !document.querySelector(n.target[0])?.closest("svg");
  return [...result.violations, ...result.incomplete].map(v => ({
    rule: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.filter(outsideCharts).slice(0, 3).map(
      n => n.target.join(" ") + " :: " + (n.failureSummary || "")),
  })).filter(v => v.nodes.length > 0);
}"""


async def test_every_console_page_in_both_languages_has_no_serious_violation(
        make_api, fake, request) -> None:
    # Two workspaces, so every page shows its workspace column, filter and overview rows.
    fake.add_workspace("key-of-workspace-beta")
    api = await make_api(WEBHOOK_SECRET="a11y-secret",
                         WORKSPACE_KEYS=Fernet.generate_key().decode(),
                         NOTIFY_URLS="json://ops:pass@127.0.0.1:9/hook")  # the health page's list
    base = str(api.make_url("")).rstrip("/")
    assert (await api.post("/workspaces", json={
        "name": "beta", "api_key": "key-of-workspace-beta"})).status == 201
    campaign, external_id = await linked_campaign(api, fake, name="Accessible", remote_status=1)
    acknowledged, _ = await linked_campaign(api, fake, name="Seen", remote_status=-1)
    for kind in ("email_sent", "email_opened", "reply_received"):
        await api.post("/webhooks/instantly", json=event(kind, external_id),
                       headers={"X-Webhook-Secret": "a11y-secret"})
    await api.post("/reconcile?wait=true")
    findings = (await (await api.get("/drift")).json())["items"]
    mine = next(f for f in findings if f["campaign_id"] == campaign["id"])
    seen = next(f for f in findings if f["campaign_id"] == acknowledged["id"])
    answer = await api.post(f"/drift/{seen['id']}/resolve", json={"action": "acknowledge"})
    assert answer.status == 200

    pages = ["/ui/", "/ui/campaigns", f"/ui/campaigns/{campaign['id']}", "/ui/drift",
             "/ui/drift?state=acknowledged",
             f"/ui/drift/{mine['id']}/confirm?action=adopt_remote", "/ui/runs",
             "/ui/health", "/ui/health?range=30d", "/ui/workspaces", "/ui/no-such-page"]
    seen_violations: dict[str, list[dict]] = {}
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM,
                                          args=["--no-sandbox", "--disable-gpu"])
        context = await browser.new_context(bypass_csp=True, locale="en-US")
        tab = await context.new_page()
        tab.set_default_timeout(15_000)
        try:
            # The harness sees what it should: an image without a text alternative.
            await tab.goto(f"{base}/ui/signin")
            await tab.evaluate("document.querySelector('main').append(new Image())")
            planted = await _axe(tab)
            assert ("image-alt", "critical") in {(v["rule"], v["impact"]) for v in planted}
            for lang in ("en", "nl"):
                await tab.goto(f"{base}/ui/signin?lang={lang}")
                seen_violations[f"/ui/signin [{lang}]"] = await _axe(tab)
            await sign_in(tab, base)
            for lang in ("en", "nl"):
                for path in pages:
                    joiner = "&" if "?" in path else "?"
                    await tab.goto(f"{base}{path}{joiner}lang={lang}")
                    seen_violations[f"{path} [{lang}]"] = await _axe(tab)
                # A bulk change's results page (a form's answer, not a link).
                await tab.goto(f"{base}/ui/campaigns?lang={lang}")
                await tab.check(f"#row-{campaign['id']} input[type=checkbox]")
                await tab.click("#bulk button[value=pause]")
                await tab.locator(".results").wait_for()
                seen_violations[f"bulk results [{lang}]"] = await _axe(tab)
            # Syncing suspended: the banner on every page, the overview's resume control.
            await api.post("/sync/suspend", json={"reason": "Checking the banner"})
            for lang in ("en", "nl"):
                for path in ("/ui/", "/ui/campaigns"):
                    await tab.goto(f"{base}{path}?lang={lang}")
                    assert await tab.locator(".banner").count() == 1
                    seen_violations[f"{path} suspended [{lang}]"] = await _axe(tab)
        finally:
            if getattr(request.node, "failed", False):
                SHOTS.mkdir(exist_ok=True)
                await tab.screenshot(path=str(SHOTS / "accessibility.png"), full_page=True)
            await browser.close()
    assert len(seen_violations) == 2 + 2 * (len(pages) + 1) + 4
    failing = {page: [v for v in found if v["impact"] in FAILING]
               for page, found in seen_violations.items()}
    assert {page: found for page, found in failing.items() if found} == {}


async def _axe(tab) -> list[dict]:
    await tab.add_script_tag(path=str(AXE))
    return await tab.evaluate(RUN_AXE)
