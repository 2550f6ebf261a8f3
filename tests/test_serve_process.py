"""The `serve` process: start-up checks, graceful SIGTERM, secrets in output, crashes."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import aiohttp
import pytest

from tests.factories import FAKE_KEY, wait_for
from tests.processes import daemon_env, free_port, run_cli, start_daemon, wait_ready

pytestmark = pytest.mark.process

TOKEN = "proc-token-123456"
SECRET = "proc-webhook-secret-987"


async def linked_over_http(http, base: str, fake, name: str) -> tuple[dict, dict]:
    """A remote campaign at the fake and a local one linked to it, via the daemon's API."""
    remote = fake.state.add_campaign(name=name, status=2)
    resp = await http.post(f"{base}/campaigns", json={
        "client_id": "c", "name": name, "external_id": remote["id"]})
    return await resp.json(), remote


async def toggle_in_flight(http, base: str, created: dict) -> asyncio.Future:
    """Start a toggle and return once its external call is under way (lease visible)."""
    toggle = asyncio.ensure_future(http.post(f"{base}/campaigns/{created['id']}/toggle"))

    async def call_in_flight() -> bool:
        body = await (await http.get(f"{base}/campaigns/{created['id']}")).json()
        return body["pending_status"] == "active"

    await wait_for(call_in_flight)
    return toggle


async def test_invalid_config_stops_with_one_line_naming_the_variable(dsn) -> None:
    code, _out, err = await run_cli(
        "serve", env=daemon_env(DATABASE_URL=dsn, RECONCILE_INTERVAL_SECONDS="abc"))
    assert code == 78
    assert err.strip().count("\n") == 0
    assert "RECONCILE_INTERVAL_SECONDS" in err


async def test_non_loopback_bind_needs_api_tokens(dsn) -> None:
    code, _, err = await run_cli("serve", env=daemon_env(DATABASE_URL=dsn, HOST="0.0.0.0"))
    assert code == 78
    assert "API_TOKENS" in err


async def test_help_lists_every_command() -> None:
    code, out, _ = await run_cli("--help", env=daemon_env())
    assert code == 0
    for command in ("serve", "migrate", "reconcile", "drift", "check", "selftest",
                    "fake-instantly", "demo", "webhooks"):
        assert command in out


def test_serve_loads_neither_the_other_commands_nor_the_console_templates() -> None:
    """The long-running process imports what it runs: no demo, self-test or fake;
    no cryptography without workspace keys; jinja2 only when a console page is first
    rendered; API shapes (the response models
    included) built on first use."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from daemon.cli import build_parser\n"
        "build_parser(['serve']).parse_args(['serve'])\n"
        "from daemon.http.app import build_app\n"
        "build_app(__import__('daemon.config').config.load_settings())\n"
        "names = ('jinja2', 'instantly.fake', 'daemon.cli.demo', 'daemon.cli.selftest',"
        " 'cryptography', 'apprise')\n"
        "print(sorted(n for n in names if n in sys.modules))\n"
        "import daemon.http.schemas as s, daemon.http.response_models as r\n"
        "print([n for m in (s, r) for n, v in vars(m).items() if isinstance(v, type)"
        " and issubclass(v, s.Schema) and v.__pydantic_complete__])\n"
        "import pathlib, tempfile\n"
        "from daemon.http.console.pages import Pages\n"
        "d = pathlib.Path(tempfile.mkdtemp())\n"
        "(d / 'p.html').write_text('<b>{{ x }}</b>')\n"
        "print(Pages(d, filters={}).render('p.html', {'x': '<i>'}).text)\n"
        "print('jinja2' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=False, timeout=60)
    assert out.returncode == 0, out.stderr
    # Nothing loaded, and no API shape built, until a request needs it.
    assert out.stdout.splitlines() == ["[]", "[]", "<b>&lt;i&gt;</b>", "True"], out.stdout


async def test_sigterm_lets_in_flight_requests_finish_and_exits_zero(dsn, fake) -> None:
    port = free_port()
    env = daemon_env(DATABASE_URL=dsn, INSTANTLY_BASE_URL=fake.url, INSTANTLY_API_KEY=FAKE_KEY,
                     API_TOKENS=TOKEN, WEBHOOK_SECRET=SECRET, PORT=str(port))
    proc = await start_daemon(env)
    try:
        await wait_ready(port, proc)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(headers=headers) as http:
            created, _remote = await linked_over_http(http, base, fake, "slow")
            fake.state.add_fault(path="/activate", delay_ms=1500)
            toggle = await toggle_in_flight(http, base, created)
            proc.send_signal(signal.SIGTERM)
            resp = await toggle
            assert resp.status == 200
            assert (await resp.json())["external_sync"] == "activated"
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0
        text = out.decode() + err.decode()
        assert "http.stopped" in text
        for secret in (FAKE_KEY, TOKEN, SECRET):
            assert secret not in text
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_shutdown_ends_within_the_grace_whatever_the_external_timeout(dsn, fake, db
                                                                            ) -> None:
    """A call still running at the end of the grace is abandoned; its lease stays for
    the reconciler (as after a crash) and the process exits 0 within grace + 5 s."""
    port = free_port()
    env = daemon_env(DATABASE_URL=dsn, INSTANTLY_BASE_URL=fake.url, INSTANTLY_API_KEY=FAKE_KEY,
                     API_TOKENS=TOKEN, PORT=str(port), INSTANTLY_TIMEOUT_SECONDS="120",
                     SHUTDOWN_GRACE_SECONDS="1")
    proc = await start_daemon(env)
    try:
        await wait_ready(port, proc)
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            created, _remote = await linked_over_http(http, base, fake, "stuck")
            fake.state.add_fault(path="/activate", delay_ms=60_000)  # answers in a minute
            toggle = await toggle_in_flight(http, base, created)
            loop = asyncio.get_running_loop()
            signalled = loop.time()
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 1 + 5)  # the grace plus 5 s
            assert loop.time() - signalled < 6
            with contextlib.suppress(aiohttp.ClientError):
                await toggle
        assert proc.returncode == 0
        row = await db.fetchrow("campaign_get", created["id"])
        assert (row["status"], row["pending_status"]) == ("draft", "active")  # for the reconciler
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_secrets_never_reach_process_output_even_on_errors(dsn, fake) -> None:
    port = free_port()
    env = daemon_env(DATABASE_URL=dsn, INSTANTLY_BASE_URL=fake.url, INSTANTLY_API_KEY=FAKE_KEY,
                     API_TOKENS=TOKEN, WEBHOOK_SECRET=SECRET, PORT=str(port), LOG_LEVEL="debug")
    proc = await start_daemon(env)
    try:
        await wait_ready(port, proc)
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            created, _remote = await linked_over_http(http, base, fake, "x")
            fake.state.add_fault(path="/activate", status=401)
            assert (await http.post(f"{base}/campaigns/{created['id']}/toggle")).status == 502
            await http.post(f"{base}/webhooks/instantly", json={"event_type": "x"},
                            headers={"X-Webhook-Secret": SECRET})
            await http.post(f"{base}/webhooks/instantly", json={"event_type": "x"},
                            headers={"X-Webhook-Secret": "wrong"})
            ready = await (await http.get(f"{base}/readyz")).text()
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        text = out.decode() + err.decode() + ready
        assert "external.error" in text
        for secret in (FAKE_KEY, TOKEN, SECRET):
            assert secret not in text
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_sigkill_between_remote_success_and_commit_is_settled(dsn, fake, make_api) -> None:
    """A daemon killed while the fake holds the activate answer; a later pass settles it."""
    port = free_port()
    env = daemon_env(DATABASE_URL=dsn, INSTANTLY_BASE_URL=fake.url, INSTANTLY_API_KEY=FAKE_KEY,
                     API_TOKENS=TOKEN, PORT=str(port), TOGGLE_LEASE_SECONDS="1")
    proc = await start_daemon(env)
    try:
        await wait_ready(port, proc)
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            created, remote = await linked_over_http(http, base, fake, "crash")
            fake.state.add_fault(path="/activate", hold_ms=5000)
            toggle = asyncio.ensure_future(http.post(f"{base}/campaigns/{created['id']}/toggle"))

            async def remote_changed() -> bool:
                return fake.state.campaigns[remote["id"]]["status"] == 1

            await wait_for(remote_changed)
            proc.kill()  # SIGKILL: no cleanup, no commit
            await proc.wait()
            try:
                await toggle
            except aiohttp.ClientError:
                pass
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    api = await make_api(TOGGLE_LEASE_SECONDS="1")
    stuck = await (await api.get(f"/campaigns/{created['id']}")).json()
    assert (stuck["status"], stuck["pending_status"]) == ("draft", "active")

    async def settled() -> bool:
        run = await (await api.post("/reconcile?wait=true")).json()
        assert run["status"] == "succeeded"
        body = await (await api.get(f"/campaigns/{created['id']}")).json()
        return body["status"] == "active" and body["pending_status"] is None

    await wait_for(settled)
    resolved = (await (await api.get("/drift?state=resolved")).json())["items"]
    assert [(f["kind"], f["resolution"]) for f in resolved] == [("toggle_incomplete", "settled")]
    assert "local commit completed" in resolved[0]["note"]
