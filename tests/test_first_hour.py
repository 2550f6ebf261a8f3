"""The operator's first hour: the demo twice, mistakes answered in one line, docs, linking."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import psutil
import pytest

from daemon.cli import build_parser, main
from daemon.cli.linking import link_command, remote_list_command
from sql.migrate import migration_files
from tests.factories import ROOT, create_campaign, linked_campaign, make_settings
from tests.processes import daemon_env, free_port, run_cli, start_daemon, wait_ready

pytestmark = pytest.mark.process


def one_line(err: str) -> str:
    """The error output is exactly one line, not a traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


# -- the demo -------------------------------------------------------------------------

async def run_demo_once(server_dsn: str, port: int, fake_port: int, *extra: str) -> dict:
    env = daemon_env(DATABASE_URL=server_dsn, LOG_LEVEL="error")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "daemon", "demo", "--port", str(port),
        "--fake-port", str(fake_port), *extra, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        banner = []
        while not banner or "Ctrl-C" not in banner[-1]:
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert line, (await proc.stderr.read()).decode()
            banner.append(line.decode())
        text = "".join(banner)
        answer_text = text
        toggle = re.search(r"-X POST (.*) (http://\S+/toggle)", text)
        assert toggle and f":{port}/" in toggle.group(2) and f":{fake_port}" in text
        async with aiohttp.ClientSession(
                headers={"Authorization": "Bearer demo-token"}) as http:
            async with http.post(toggle.group(2)) as resp:
                answer = {"status": resp.status, **await resp.json()}
            async with http.post(f"http://127.0.0.1:{port}/reconcile?wait=true") as resp:
                answer["run"] = await resp.json()
            async with http.get(f"http://127.0.0.1:{port}/overview") as resp:
                answer["overview"] = await resp.json()
        demo_dsn = re.search(r"DATABASE_URL='([^']+)'", text).group(1)
        db = await asyncpg.connect(demo_dsn)
        try:
            answer["event_hours"] = await db.fetchval(
                "SELECT count(DISTINCT date_trunc('hour', received_at)) FROM webhook_events"
                " WHERE received_at > now() - interval '24 hours'")
        finally:
            await db.close()
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert "demo stopped" in out.decode()
    assert proc.returncode == 0
    answer["banner"] = answer_text
    return answer


async def test_the_demo_works_twice(server_dsn) -> None:
    port, fake_port = free_port(), free_port()
    for extra in ((), ("--notify-echo",)):
        answer = await run_demo_once(server_dsn, port, fake_port, *extra)
        assert (answer["status"], answer["external_sync"]) == (200, "activated")
        assert "Acme — spring launch" in answer["message"]  # UTF-8, not \\u2014
        assert answer["run"]["status"] == "succeeded"
        assert answer["run"]["remote_unlinked"] == 1  # the one remote campaign never linked
        # A day of history for the charts: events in most hours, calls with a few refused.
        assert answer["event_hours"] >= 20
        calls = answer["overview"]["calls"]
        assert calls["calls"] >= 36 and 0.8 < calls["success_rate"] < 1
        # With --notify-echo a newcomer sees the seeded drift's message arrive.
        echoed = "notification received: New drift: 9 campaign(s)" in answer["banner"]
        assert echoed == bool(extra), answer["banner"][:2000]


async def test_a_second_demo_never_harms_the_running_one(server_dsn) -> None:
    """Two demos on one database server: the second refuses in one line naming the
    first's ports, before it touches anything; the first keeps serving the same data.
    And the first answers /readyz only once every campaign is seeded."""
    port, fake_port = free_port(), free_port()
    env = daemon_env(DATABASE_URL=server_dsn, LOG_LEVEL="error")
    first = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "daemon", "demo", "--port", str(port), "--fake-port",
        str(fake_port), env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    auth = {"Authorization": "Bearer demo-token"}
    try:
        await wait_ready(port, first, within=60)
        async with aiohttp.ClientSession(headers=auth) as http:
            async def campaign_ids() -> list[str]:
                async with http.get(f"http://127.0.0.1:{port}/campaigns?limit=500") as r:
                    return sorted(c["id"] for c in (await r.json())["items"])

            before = await campaign_ids()
            assert len(before) == 20  # ready means seeded
            code, _, err = await run_cli("demo", "--port", str(free_port()), "--fake-port",
                                         str(free_port()), env=env)
            assert code == 1
            assert (f"another demo is running on this database server (instantly-sync demo"
                    f" on ports {port} and {fake_port})") in one_line(err)
            code, _, err = await run_cli("demo", "--port", str(port), "--fake-port",
                                         str(free_port()), env=env)
            assert code == 1 and "choose another with --port" in one_line(err)
            assert await campaign_ids() == before
            async with http.get(f"http://127.0.0.1:{port}/readyz") as r:
                assert r.status == 200
    finally:
        first.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(first.communicate(), 30)
    assert first.returncode == 0, err.decode()[-2000:]
    assert f"http://127.0.0.1:{port}/ui/" in out.decode()
    assert "DATABASE_URL='" in out.decode()


async def test_a_busy_port_is_one_line_naming_it_and_the_flag(server_dsn) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = await run_cli("demo", "--port", str(port), "--fake-port",
                                     str(free_port()),
                                     env=daemon_env(DATABASE_URL=server_dsn, LOG_LEVEL="error"))
        assert code == 1
        assert f"127.0.0.1:{port} is already in use; choose another with --port" in one_line(err)
        code, _, err = await run_cli("demo", "--fake-port", str(port),
                                     env=daemon_env(DATABASE_URL=server_dsn, LOG_LEVEL="error"))
        assert "with --fake-port" in one_line(err)
        code, _, err = await run_cli("serve", env=daemon_env(
            DATABASE_URL=server_dsn, PORT=str(port), LOG_LEVEL="error"))
        assert code == 1
        assert "choose another with PORT (or HOST)" in one_line(err)


# -- database mistakes ---------------------------------------------------------------

async def test_a_port_that_is_not_a_number_is_a_configuration_error() -> None:
    code, _, err = await run_cli("serve", env=daemon_env(
        DATABASE_URL="postgres://u:secretpw@localhost:notaport/db"))
    assert code == 78
    line = one_line(err)
    assert "DATABASE_URL has a port that is not a number" in line
    assert "secretpw" not in line


async def test_an_unknown_role_names_the_server_database_and_role(server_dsn) -> None:
    parts = urlsplit(server_dsn)  # host and port, or the embedded server's socket (query)
    url = urlunsplit(parts._replace(netloc=f"no_such_role_x@{parts.netloc.rpartition('@')[2]}",
                                    path="/postgres"))
    code, _, err = await run_cli("drift", env=daemon_env(DATABASE_URL=url, LOG_LEVEL="error"))
    assert code == 78
    line = one_line(err)
    assert "role 'no_such_role_x'" in line and "refused the connection" in line
    assert "DATABASE_URL" in line


async def test_drift_needs_only_select_and_a_missing_grant_is_one_line(dsn, db) -> None:
    """Ops may read drift with a role that has SELECT alone (drift applies no migration);
    a command that needs more names Postgres's refusal and the role, exit 78."""
    role, password = f"isync_ro_{os.getpid()}", "ro-pw-1"
    parts = urlsplit(dsn)  # the same server (host and port, or a socket in the query)
    ro_dsn = urlunsplit(parts._replace(
        netloc=f"{role}:{password}@{parts.netloc.rpartition('@')[2]}"))
    await db.pool.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    try:
        await db.pool.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        env = daemon_env(DATABASE_URL=ro_dsn, LOG_LEVEL="error")
        code, out, err = await run_cli("drift", env=env)
        assert (code, out.strip()) == (0, "no drift"), err
        code, out, err = await run_cli("reconcile", env=env)
        assert code == 78
        line = one_line(err)
        assert "permission denied for" in line and f"role '{role}'" in line
        assert "grant" in line and password not in line
    finally:
        await db.pool.execute(f"DROP OWNED BY {role}")
        await db.pool.execute(f"DROP ROLE {role}")


async def test_drift_on_a_schema_behind_the_code_says_so_and_migrates_nothing(dsn, db) -> None:
    latest = migration_files()[-1][0]
    await db.pool.execute("DELETE FROM schema_migrations WHERE version = $1", latest)
    code, out, err = await run_cli("drift", env=daemon_env(DATABASE_URL=dsn, LOG_LEVEL="error"))
    assert (code, out) == (1, "")
    line = one_line(err)
    assert f"1 migration(s) not applied, first {latest}" in line
    assert "instantly-sync migrate" in line
    assert latest not in {r["version"] for r in await db.fetch("applied_migrations")}


@pytest.mark.parametrize("command", [["drift"], ["migrate"], ["reconcile"],
                                     ["webhooks", "status"]], ids=" ".join)
async def test_an_unreachable_database_is_the_same_line_within_its_deadline(command) -> None:
    """Every command gives up after DATABASE_TIMEOUT_SECONDS (1 s here) with one line
    (migrate used to retry for 28 s, drift 4 s, check 1 s)."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/anything"
    env = daemon_env(DATABASE_URL=url, LOG_LEVEL="error", DATABASE_TIMEOUT_SECONDS="1",
                     WEBHOOK_PUBLIC_URL="https://sync.example/webhooks/instantly")
    loop = asyncio.get_running_loop()
    started = loop.time()
    code, _, err = await run_cli(*command, env=env)
    took = loop.time() - started
    assert code == 1
    line = one_line(err)
    assert "database unreachable at 127.0.0.1:" in line and "DATABASE_URL" in line
    assert took < 10, f"{' '.join(command)} gave up after {took:.1f} s"


async def test_commands_never_create_a_database_elsewhere(tmp_path) -> None:
    env = {k: v for k, v in daemon_env(LOG_LEVEL="error").items() if k != "DATA_DIR"}
    code, out, err = await run_cli("drift", env=env, cwd=tmp_path)
    assert code == 1
    line = one_line(err)
    assert f"no database at {tmp_path / '.instantly-sync' / 'pgdata'}" in line
    assert "DATA_DIR" in line and "DATABASE_URL" in line
    assert out == ""
    assert not (tmp_path / ".instantly-sync").exists()


# -- output, help, exit codes ----------------------------------------------------------

async def test_output_goes_to_stdout_and_logs_to_stderr(dsn, fake) -> None:
    env = daemon_env(DATABASE_URL=dsn, INSTANTLY_BASE_URL=fake.url,
                     INSTANTLY_API_KEY="fake-key", LOG_LEVEL="info")
    code, out, err = await run_cli("reconcile", env=env)
    assert code == 0, err
    assert out.startswith("run 1: succeeded")
    assert not [line for line in out.splitlines() if line.startswith("{")]
    assert any(json.loads(line)["event"] == "reconcile.done"
               for line in err.splitlines() if line.startswith("{"))


COMMANDS = [["serve"], ["migrate"], ["reconcile"], ["drift"], ["check"], ["selftest"],
            ["fake-instantly"], ["demo"], ["webhooks", "register"], ["webhooks", "status"],
            ["webhooks", "backfill"], ["remote", "list"], ["link"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_help_lists_options_variables_and_an_example(command, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "options:" in out and "-h, --help" in out
    assert "environment variables read:" in out
    assert "example:\n  " in out and "instantly-sync " in out.split("example:")[1]


def test_every_option_of_every_command_has_help() -> None:
    import argparse as ap

    def walk(parser: ap.ArgumentParser, path: str) -> list[str]:
        missing = []
        # argparse offers no public way to walk a parser's options (test code only)
        for action in parser._actions:
            if isinstance(action, ap._SubParsersAction):
                for name, sub in action.choices.items():
                    missing += walk(sub, f"{path} {name}")
            elif action.option_strings and not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings)}")
        return missing

    assert walk(build_parser(), "instantly-sync") == []


def test_version_and_a_suggestion_for_a_mistyped_command(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("instantly-sync ")
    with pytest.raises(SystemExit) as exit_:
        main(["drfit"])
    assert exit_.value.code == 64
    assert "unknown command 'drfit'; did you mean 'drift'?" in capsys.readouterr().err


def test_help_shows_the_default_log_format_as_it_is(capsys) -> None:
    with pytest.raises(SystemExit):
        build_parser(["serve"]).parse_args(["serve", "--help"])
    out = capsys.readouterr().out
    assert "json or console (default: console on a terminal, else json)" in out


async def test_a_setting_that_fixes_an_error_is_named(fake) -> None:
    code, _, err = await run_cli("webhooks", "list", env=daemon_env(
        INSTANTLY_API_KEY="", INSTANTLY_BASE_URL=fake.url))
    assert code == 78
    assert one_line(err) == "webhooks list: INSTANTLY_API_KEY is not set"


@pytest.mark.slow
async def test_selftest_leaves_no_database_behind(tmp_path) -> None:
    env = {k: v for k, v in daemon_env(LOG_LEVEL="error").items() if k != "DATA_DIR"}
    code, out, err = await run_cli("selftest", env=env, cwd=tmp_path)
    assert code == 0, out + err
    assert out.strip().endswith("21 passed, 0 failed")
    assert list(tmp_path.iterdir()) == []


def test_usage_errors_exit_64_and_drift_alone_is_2(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["no-such-command"])
    assert exit_.value.code == 64
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["drift", "--format", "xml"])
    assert exit_.value.code == 64
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["link"])  # --by-name is required
    assert exit_.value.code == 64


# -- documentation -------------------------------------------------------------------

def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_docs_exist_and_link_only_inside_the_repository() -> None:
    for name in ("architecture.md", "operations.md", "drift.md", "webhooks.md"):
        assert (ROOT / "docs" / name).exists(), name
    for path in markdown_files():
        text = path.read_text()
        assert "../shared" not in text, path
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            resolved = (path.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), (path, target)
            assert resolved.exists(), (path, target)


def test_readme_and_openapi_agree_on_the_document_being_protected() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "`/openapi.json`" in readme and "bearer token" in readme


# -- bulk linking --------------------------------------------------------------------

async def test_link_by_name_dry_run_then_apply(api, fake, dsn, capsys) -> None:
    for name in ("Spring", "Autumn", "Twin", "Twin"):
        fake.state.add_campaign(name=name, status=2)
    fake.state.add_campaign(name="Only remote", status=1)
    spring = await create_campaign(api, name="Spring", client_id="acme")
    await create_campaign(api, name="Autumn", client_id="globex")
    await create_campaign(api, name="Twin", client_id="acme")
    await create_campaign(api, name="Nowhere", client_id="acme")
    await linked_campaign(api, fake, name="Already linked")
    dry = await (await api.post("/campaigns/link", json={"client_id": "acme"})).json()
    assert [m["campaign_name"] for m in dry["matched"]] == ["Spring"]
    assert [a["campaign_name"] for a in dry["ambiguous"]] == ["Twin"]
    assert [u["campaign_name"] for u in dry["unmatched"]] == ["Nowhere"]
    assert (dry["applied"], dry["linked"]) == (False, 0)
    assert (await (await api.get(f"/campaigns/{spring['id']}")).json())["external_id"] is None
    settings = make_settings(fake.url, DATABASE_URL=dsn)
    await link_command(argparse.Namespace(client_id=None, apply=True), settings)
    out = capsys.readouterr().out
    assert "2 matched, 1 ambiguous, 1 unmatched; 2 linked" in out
    linked = (await (await api.get(f"/campaigns/{spring['id']}")).json())["external_id"]
    assert fake.state.campaigns[linked]["name"] == "Spring"
    await remote_list_command(
        argparse.Namespace(search=None, unlinked=True, workspace="default"), settings)
    out = capsys.readouterr().out
    assert "Only remote" in out and "Spring" not in out
    assert out.strip().endswith("3 remote campaign(s), 3 not linked")
    run = await (await api.post("/reconcile?wait=true")).json()
    assert run["remote_unlinked"] == 3  # Twin, Twin, Only remote


def test_the_deploy_files_are_there() -> None:
    unit = (ROOT / "deploy" / "instantly-sync.service").read_text()
    assert "ExecStart=" in unit and "NoNewPrivileges=yes" in unit
    rules = (ROOT / "deploy" / "prometheus" / "alerts.yml").read_text()
    for alert in ("InstantlySyncReconcileFailing", "InstantlySyncDriftOld",
                  "InstantlySyncWebhookDown", "InstantlySyncWebhookSilent",
                  "InstantlySyncExternalErrors"):
        assert alert in rules


@pytest.mark.timeout(180)
async def test_an_embedded_postgres_left_by_a_crash_is_taken_over_and_stopped(tmp_path) -> None:
    """kill -9 leaves the embedded server running; the next serve takes it over and stops it."""
    env = {k: v for k, v in daemon_env(LOG_LEVEL="warning").items() if k != "DATABASE_URL"}
    env["DATA_DIR"] = str(tmp_path / "state")
    port = free_port()
    first = await start_daemon({**env, "PORT": str(port)})
    await wait_ready(port, first, within=150)
    first.kill()
    await first.wait()
    pid_file = tmp_path / "state" / "pgdata" / "postmaster.pid"
    postgres_pid = int(pid_file.read_text().split()[0])
    os.kill(postgres_pid, 0)  # still running after the crash
    second = await start_daemon({**env, "PORT": str(port)})
    await wait_ready(port, second, within=60)
    second.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(second.communicate(), 60)
    assert second.returncode == 0
    assert "embedded_postgres.taken_over" in err.decode()
    try:  # gone, or a zombie nobody reaped yet (it was the killed process's child)
        assert psutil.Process(postgres_pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        pass


@pytest.mark.parametrize(("url", "missing"), [
    ("postgres://", "names no host"), ("postgresql://db.example", "names no database"),
    ("postgresql://u@/x", "names no host")])
async def test_a_dsn_without_host_or_database_is_a_configuration_error(url, missing) -> None:
    code, _, err = await run_cli("migrate", env=daemon_env(DATABASE_URL=url))
    assert code == 78
    assert f"DATABASE_URL {missing}" in one_line(err)


async def test_migrate_refuses_a_database_holding_other_tables_unless_asked(server_dsn) -> None:
    from sql.scratch import create_database, drop_database

    name = f"isync_shared_{os.getpid()}"
    dsn = await create_database(server_dsn, name)
    try:
        import asyncpg

        conn = await asyncpg.connect(dsn)
        await conn.execute("CREATE TABLE crm_contacts (id int)")
        env = daemon_env(DATABASE_URL=dsn, LOG_LEVEL="error")
        code, _, err = await run_cli("migrate", env=env)
        assert code == 78
        assert "holds 1 table(s) not created by instantly-sync (crm_contacts)" in one_line(err)
        assert "--alongside-other-tables" in err
        assert await conn.fetchval("SELECT to_regclass('campaigns')") is None  # nothing made
        code, out, _ = await run_cli("migrate", "--alongside-other-tables", env=env)
        assert (code, out.strip()) == (0, "migrations applied")
        code, _, _ = await run_cli("migrate", env=env)  # ours now: no flag needed again
        assert code == 0
        await conn.close()
    finally:
        await drop_database(server_dsn, name)
