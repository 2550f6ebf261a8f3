"""The composition root: every long-lived service, built once per process.

`open_services` connects to Postgres (waiting a while for it), applies
migrations, opens the one HTTP session and builds the Instantly client with
its rate limiter and the suspension gate, then the toggle service, reconciler, resolver and webhook
store on top of them (the store writes through a small pool of its own, whose
sessions keep one plan for its statement). The server (`daemon.http.app`)
and every CLI command use the same function, so a service is configured in
exactly one place.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
import structlog

from daemon.config import Settings
from daemon.notify import Notifier
from daemon.suspension import SyncControl
from daemon.toggle import ToggleService
from daemon.usage import CallRecorder
from daemon.workspaces import WebhookTarget, Workspaces
from instantly.client import InstantlyClient, LocalBudget
from instantly.workspaces import DEFAULT_WORKSPACE_ID, WorkspaceDisabled
from reconciler.linking import Linker
from reconciler.resolution import Resolver
from reconciler.runner import Reconciler
from sql import Database, DatabaseUnavailable, connect
from sql.migrate import migrate, require_current_schema
from webhooks.checks import CampaignChecks
from webhooks.health import WebhookHealth
from webhooks.store import WRITER_SESSION, WRITERS, WebhookStore

log = structlog.get_logger("daemon")


@dataclass
class Services:
    settings: Settings
    db: Database
    http: aiohttp.ClientSession
    client: InstantlyClient
    toggles: ToggleService
    reconciler: Reconciler
    resolver: Resolver
    linker: Linker
    campaign_checks: CampaignChecks
    webhook_store: WebhookStore  # its writers run only in `serve` (see daemon.http.app)
    webhook_db: Database  # the writers' own pool (WRITER_SESSION), opened on first use
    webhook_health: WebhookHealth
    sync: SyncControl  # suspending syncing (daemon/suspension.py)
    calls: CallRecorder  # every external attempt, for the budget's use (daemon/usage.py)
    workspaces: Workspaces  # one client (key, budget) per workspace (daemon/workspaces.py)
    notifier: Notifier  # the outbox's messages and their sender (daemon/notify.py)
    # WEBHOOK_SECRET's values, unwrapped once (the receiver compares on every delivery).
    webhook_secrets: tuple[str, ...] = field(repr=False)


def resolve_dsn(settings: Settings, *, create: bool = True) -> str:
    """DATABASE_URL, or the embedded Postgres under DATA_DIR (started now).

    With `create=False` a missing embedded database is `NoEmbeddedDatabase`:
    commands that only read must not create an empty database elsewhere.
    """
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    from daemon.embedded_db import start_embedded

    return start_embedded(settings.data_dir, create=create)


async def connect_with_retry(dsn: str, *, wait_seconds: float = 30.0, max_size: int = 10,
                             deadline_seconds: float = 5.0) -> Database:
    """Postgres may come up after us (containers, embedded start): wait a while."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    delay = 0.2
    while True:
        try:
            return await connect(dsn, max_size=max_size, deadline_seconds=deadline_seconds)
        except DatabaseUnavailable:
            if loop.time() + delay > deadline:
                raise
            log.warning("database.waiting", retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 3.0)


def build_client(settings: Settings, session: aiohttp.ClientSession) -> InstantlyClient:
    """The default workspace's client for commands without a database: it limits this
    process alone and never asks whether syncing is suspended (that is kept in the
    database). The daemon's clients are `daemon.workspaces.Workspaces`'."""
    key = settings.instantly_api_key
    return InstantlyClient(
        session=session,
        base_url=settings.instantly_base_url,
        api_key=key.get_secret_value() if key else None,
        timeout_seconds=settings.instantly_timeout_seconds,
        max_retries=settings.instantly_max_retries,
        limiter=LocalBudget(settings.instantly_max_rps, settings.instantly_max_rpm),
    )


def new_http_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=100, ttl_dns_cache=300),
        headers={"User-Agent": "instantly-sync/0.1"},
    )


async def open_services(settings: Settings, *, dsn: str | None = None,
                        run_migrations: bool = True, wait_seconds: float | None = None,
                        create_database: bool = True,
                        alongside_other_tables: bool = False) -> Services:
    """Connect, migrate and build every service (closed by `close_services`). An
    unreachable database is retried for `wait_seconds` (default: DATABASE_TIMEOUT_SECONDS,
    the same for every command), then `DatabaseUnavailable`."""
    dsn = dsn or resolve_dsn(settings, create=create_database)
    wait = settings.database_timeout_seconds if wait_seconds is None else wait_seconds
    db = await connect_with_retry(dsn, wait_seconds=wait,
                                  deadline_seconds=settings.database_timeout_seconds)
    try:
        if run_migrations:
            applied = await migrate(db, alongside_other_tables=alongside_other_tables)
            if applied:
                log.info("database.migrated", versions=applied)
        # min_size=0: no connection until the first event (CLI commands never write one).
        webhook_db = await connect(dsn, min_size=0, max_size=WRITERS,
                                   deadline_seconds=settings.database_timeout_seconds,
                                   server_settings=WRITER_SESSION)
    except BaseException:
        await db.close()
        raise
    http = new_http_session()
    sync = SyncControl(db)
    calls = CallRecorder(db, max_rps=settings.instantly_max_rps,
                         max_rpm=settings.instantly_max_rpm)
    workspaces = Workspaces(db=db, settings=settings, http=http, gate=sync, calls=calls)
    client = workspaces.default_client()
    checks = CampaignChecks(db=db, clients=workspaces,
                            spacing=settings.webhook_check_spacing_seconds)
    secrets = tuple(s.get_secret_value() for s in settings.webhook_secrets)
    store = WebhookStore(db=webhook_db, checks=checks,
                         answer_within=2 * settings.database_timeout_seconds)
    return Services(
        settings=settings, db=db, http=http, client=client, campaign_checks=checks,
        webhook_db=webhook_db,
        toggles=ToggleService(db=db, clients=workspaces, full_pause_sync=settings.full_pause_sync,
                              lease_seconds=settings.toggle_lease_seconds),
        reconciler=Reconciler(db=db, clients=workspaces, full_pause_sync=settings.full_pause_sync,
                              lease_seconds=settings.toggle_lease_seconds,
                              max_seconds=settings.reconcile_max_seconds,
                              notify=bool(settings.notify_urls)),
        resolver=Resolver(db=db, clients=workspaces),
        linker=Linker(db=db, clients=workspaces),
        webhook_store=store,
        webhook_health=WebhookHealth(
            db=db, client=client, store=store, public_url=settings.webhook_public_url,
            secrets=secrets, auto_resume=settings.webhook_auto_resume),
        webhook_secrets=secrets,
        sync=sync,
        calls=calls,
        workspaces=workspaces,
        notifier=Notifier(db=db, settings=settings),
    )


def webhook_health_of(services: Services, target: WebhookTarget) -> WebhookHealth:
    """A workspace's webhook health (the default workspace's is built once)."""
    if target.workspace.id == DEFAULT_WORKSPACE_ID:
        return services.webhook_health
    return WebhookHealth(
        db=services.db, client=target.workspace.client, store=services.webhook_store,
        public_url=target.public_url, secrets=target.secrets,
        auto_resume=services.settings.webhook_auto_resume, workspace_id=target.workspace.id,
        workspace=target.workspace.name)


async def webhook_healths(services: Services) -> list[WebhookHealth]:
    """Every enabled workspace's webhook health, the default workspace's first."""
    return [webhook_health_of(services, t) for t in await services.workspaces.webhook_targets()]


async def webhook_health_named(services: Services, name: str | None) -> WebhookHealth:
    """The webhook health of workspace `name` (None: the default workspace)."""
    if name is None or name == "default":
        return services.webhook_health
    for health in await webhook_healths(services):
        if health.workspace == name:
            return health
    await services.workspaces.by_name(name)  # WorkspaceNotFound when there is none
    raise WorkspaceDisabled(name)


async def close_services(services: Services) -> None:
    await services.campaign_checks.close()
    await services.calls.close()
    await services.http.close()
    await services.webhook_db.close()
    await services.db.close()


@asynccontextmanager
async def services_context(settings: Settings, *, dsn: str | None = None,
                           run_migrations: bool = True, wait_seconds: float | None = None,
                           create_database: bool = True, alongside_other_tables: bool = False,
                           ) -> AsyncIterator[Services]:
    """The services for the length of a block (a CLI command, a selftest scenario)."""
    services = await open_services(settings, dsn=dsn, run_migrations=run_migrations,
                                   wait_seconds=wait_seconds, create_database=create_database,
                                   alongside_other_tables=alongside_other_tables)
    try:
        yield services
    finally:
        await close_services(services)


@asynccontextmanager
async def existing_services(settings: Settings, *, read_only: bool = False
                            ) -> AsyncIterator[Services]:
    """The services on a database that must already exist (every CLI command but serve,
    migrate and demo): never creates an embedded one.
    `read_only` commands (drift) apply no migration, so a role with SELECT alone can
    run them; they refuse with `SchemaBehind` when one is missing."""
    async with services_context(settings, create_database=False,
                                run_migrations=not read_only) as services:
        if read_only:
            await require_current_schema(services.db)
        yield services


@asynccontextmanager
async def client_context(settings: Settings) -> AsyncIterator[InstantlyClient]:
    """Only the external client, for commands that need no database (`webhooks`, `check`)."""
    async with new_http_session() as session:
        yield build_client(settings, session)
