"""Workspaces as data: their keys encrypted at rest, one client (key, budget) each.

An agency has one external workspace per client organisation, each with its own
API key, rate limit, campaigns and webhook (docs/workspaces.md). Rows of the
`workspaces` table describe them; row 1 is the default workspace every install
has, whose key is INSTANTLY_API_KEY (and webhook secret WEBHOOK_SECRET) unless one
was stored for it, so an install with one workspace needs no new configuration.

Keys and webhook secrets are stored as Fernet tokens. The encryption keys come from
WORKSPACE_KEYS (newest first, a MultiFernet): adding a new key in front and running
`instantly-sync workspaces reencrypt` rotates the encryption key itself; the old key
can be dropped afterwards. A decrypted key lives in this process only: in the
client that sends it and in the log scrubber that removes it from any log line.

`Workspaces` is the `instantly.workspaces.Clients` of the daemon: a client per
workspace, built from the row and cached by the row's `version` (every change of
the row bumps it, so a rotated key is used by every replica from its next call).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from pydantic import SecretStr

from daemon.budget import SharedBudget
from daemon.config import Settings
from daemon.logs import scrub_also
from daemon.usage import CallRecorder
from instantly.client import CallGate, InstantlyClient, LocalBudget
from instantly.workspaces import DEFAULT_WORKSPACE_ID, WorkspaceClient, WorkspaceDisabled
from sql import Database
from sql import workspaces as rows

log = structlog.get_logger("daemon.workspaces")

NAME_RULE = "1 to 40 lowercase letters, digits or dashes, starting with a letter or digit"


class WorkspaceError(Exception):
    """A workspace operation refused; `code` says why (daemon/errors.py)."""

    code: str


class WorkspaceNotFound(WorkspaceError):
    code = "workspace_not_found"


class WorkspaceExists(WorkspaceError):
    code = "workspace_exists"


class WorkspaceInUse(WorkspaceError):
    """Campaigns are linked in it (or it is the default workspace)."""

    code = "workspace_in_use"


class ClientLinkedElsewhere(WorkspaceError):
    """The client has a campaign linked in its current workspace."""

    code = "client_linked_elsewhere"


class DefaultFromEnvironment(WorkspaceError):
    """The default workspace's key, webhook and limits are the environment's."""

    code = "default_workspace_env"


class EncryptionKeysMissing(WorkspaceError):
    code = "workspace_keys_missing"


class EncryptionKeyUnknown(WorkspaceError):
    """A stored key was encrypted with a key WORKSPACE_KEYS no longer holds."""

    code = "workspace_key_unknown"


@dataclass(frozen=True)
class WebhookTarget:
    """Where a workspace's webhook posts, and the secrets its deliveries carry."""

    workspace: WorkspaceClient
    public_url: str | None
    secrets: tuple[str, ...]


class Keyring:
    """WORKSPACE_KEYS as a MultiFernet: encrypts with the first, decrypts with any.

    The cryptography library is imported on first use: a process that never reads
    or writes a workspace's key (an install with the default workspace only) never
    loads it (about 7 MB per process)."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = tuple(keys)
        self._fernet: Any = None

    @staticmethod
    def new_key() -> str:
        from cryptography.fernet import Fernet

        return Fernet.generate_key().decode()

    def _require(self) -> Any:
        if not self._keys:
            raise EncryptionKeysMissing
        if self._fernet is None:
            from cryptography.fernet import Fernet, MultiFernet

            self._fernet = MultiFernet([Fernet(k) for k in self._keys])
        return self._fernet

    def encrypt(self, plain: str) -> bytes:
        token: bytes = self._require().encrypt(plain.encode())
        return token

    def decrypt(self, token: bytes) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return str(self._require().decrypt(token).decode())
        except InvalidToken:
            raise EncryptionKeyUnknown from None

    def rotate(self, token: bytes) -> bytes:
        from cryptography.fernet import InvalidToken

        try:
            rotated: bytes = self._require().rotate(token)
        except InvalidToken:
            raise EncryptionKeyUnknown from None
        return rotated


@dataclass(frozen=True)
class Workspace:
    """A workspace as people see it: never its key or webhook secret."""

    id: int
    name: str
    enabled: bool
    has_key: bool
    has_webhook_secret: bool
    webhook_public_url: str | None
    max_rps: float
    max_rpm: int
    clients: int
    linked: int
    created_at: dt.datetime
    key_rotated_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "enabled": self.enabled,
            "has_key": self.has_key, "has_webhook_secret": self.has_webhook_secret,
            "webhook_public_url": self.webhook_public_url, "max_rps": self.max_rps,
            "max_rpm": self.max_rpm, "clients": self.clients, "linked_campaigns": self.linked,
            "created_at": self.created_at.isoformat(),
            "key_rotated_at": self.key_rotated_at.isoformat() if self.key_rotated_at else None,
        }


class Workspaces:
    """Every workspace's client (an `instantly.workspaces.Clients`) and their admin."""

    def __init__(self, *, db: Database, settings: Settings, http: aiohttp.ClientSession,
                 gate: CallGate | None, calls: CallRecorder | None) -> None:
        self._db = db
        self._settings = settings
        self._http = http
        self._gate = gate
        self._calls = calls
        self.keyring = Keyring([k.get_secret_value() for k in settings.workspace_keys])
        self._cache: dict[int, tuple[int, WorkspaceClient]] = {}
        self._secrets: dict[int, tuple[int, tuple[str, ...]]] = {}  # by row version
        self._default: InstantlyClient | None = None

    # -- clients ------------------------------------------------------------

    async def enabled(self) -> list[WorkspaceClient]:
        return [self._client(row) for row in await rows.all_rows(self._db) if row["enabled"]]

    async def get(self, workspace_id: int, *, version: int | None = None) -> WorkspaceClient:
        cached = self._cache.get(workspace_id)
        if cached is not None and version is not None and cached[0] == version:
            found = cached[1]
        else:
            row = await rows.by_id(self._db, workspace_id)
            if row is None:
                raise WorkspaceNotFound
            found = self._client(row)
        if not found.enabled:
            raise WorkspaceDisabled(found.name)
        return found

    async def by_name(self, name: str) -> WorkspaceClient:
        row = await rows.by_name(self._db, name)
        if row is None:
            raise WorkspaceNotFound
        return self._client(row)

    def default_client(self) -> InstantlyClient:
        """The default workspace's client: INSTANTLY_API_KEY and the default limits, built
        once (the environment does not change while the process runs)."""
        if self._default is None:
            self._default = self._build(
                {"id": DEFAULT_WORKSPACE_ID, "name": "default", "max_rps": None,
                 "max_rpm": None}, self._key({"id": DEFAULT_WORKSPACE_ID, "api_key": None}))
        return self._default

    def _client(self, row: Any) -> WorkspaceClient:
        cached = self._cache.get(row["id"])
        if cached is not None and cached[0] == row["version"]:
            return cached[1]
        client = (self.default_client() if row["id"] == DEFAULT_WORKSPACE_ID
                  else self._build(row, self._key(row)))
        built = WorkspaceClient(id=row["id"], name=row["name"], enabled=row["enabled"],
                                client=client)
        self._cache[row["id"]] = (row["version"], built)
        return built

    def _key(self, row: Any) -> str | None:
        """The plain key; None when there is none or it cannot be decrypted (the client
        then answers every call `external_config_missing`, and the cause is logged)."""
        if row["api_key"] is not None:
            try:
                key = self.keyring.decrypt(row["api_key"])
            except WorkspaceError as exc:
                log.error("workspace.key_unreadable", workspace=row["name"], code=exc.code)
                return None
            scrub_also(key)
            return key
        if row["id"] == DEFAULT_WORKSPACE_ID and self._settings.instantly_api_key:
            return self._settings.instantly_api_key.get_secret_value()
        return None

    def _limits(self, row: Any) -> tuple[float, int]:
        """The workspace's own limits, else INSTANTLY_MAX_RPS / INSTANTLY_MAX_RPM."""
        return (row["max_rps"] or self._settings.instantly_max_rps,
                row["max_rpm"] or self._settings.instantly_max_rpm)

    def _build(self, row: Any, key: str | None) -> InstantlyClient:
        s = self._settings
        rps, rpm = self._limits(row)
        return InstantlyClient(
            session=self._http, base_url=s.instantly_base_url, api_key=key,
            timeout_seconds=s.instantly_timeout_seconds, max_retries=s.instantly_max_retries,
            limiter=SharedBudget(db=self._db, workspace_id=row["id"], max_rps=rps,
                                 max_rpm=rpm),
            gate=self._gate,
            call_log=self._calls.for_workspace(row["id"]) if self._calls else None,
            workspace=row["name"],
        )

    def _webhook_secrets(self, row: Any) -> tuple[str, ...]:
        """The secrets a delivery to this workspace's endpoint may carry (none when its
        stored secret cannot be decrypted: logged, and deliveries are answered 503)."""
        cached = self._secrets.get(row["id"])
        if cached is not None and cached[0] == row["version"]:
            return cached[1]
        secrets: tuple[str, ...] = ()
        if row["webhook_secret"] is not None:
            try:
                secrets = (self.keyring.decrypt(row["webhook_secret"]),)
                scrub_also(secrets[0])
            except WorkspaceError as exc:
                log.error("workspace.webhook_secret_unreadable", workspace=row["name"],
                          code=exc.code)
        elif row["id"] == DEFAULT_WORKSPACE_ID:  # WEBHOOK_SECRET
            secrets = tuple(v.get_secret_value() for v in self._settings.webhook_secrets)
        self._secrets[row["id"]] = (row["version"], secrets)
        return secrets

    async def receiver(self, name: str) -> tuple[int, tuple[str, ...]] | None:
        """For deliveries to /webhooks/instantly/{name}: the workspace's id and the
        secrets it accepts; None when no workspace has that name. A disabled workspace
        still receives: nothing acknowledged is lost."""
        row = await rows.by_name(self._db, name)
        if row is None:
            return None
        return row["id"], self._webhook_secrets(row)

    async def webhook_targets(self) -> list[WebhookTarget]:
        """Every enabled workspace's webhook: its client, public URL and secrets."""
        targets = []
        for row in await rows.all_rows(self._db):
            if not row["enabled"]:
                continue
            default = row["id"] == DEFAULT_WORKSPACE_ID
            url = row["webhook_public_url"] or (
                self._settings.webhook_public_url if default else None)
            targets.append(WebhookTarget(self._client(row), url, self._webhook_secrets(row)))
        return targets

    # -- admin --------------------------------------------------------------

    def _shown(self, row: Any) -> Workspace:
        default = row["id"] == DEFAULT_WORKSPACE_ID
        rps, rpm = self._limits(row)
        return Workspace(
            id=row["id"], name=row["name"], enabled=row["enabled"],
            has_key=row["api_key"] is not None
            or (default and self._settings.instantly_api_key is not None),
            has_webhook_secret=row["webhook_secret"] is not None
            or (default and bool(self._settings.webhook_secrets)),
            webhook_public_url=row["webhook_public_url"]
            or (self._settings.webhook_public_url if default else None),
            max_rps=rps, max_rpm=rpm, clients=row.get("clients", 0),
            linked=row.get("linked", 0), created_at=row["created_at"],
            key_rotated_at=row["key_rotated_at"])

    async def list(self) -> list[Workspace]:
        return [self._shown(dict(r)) for r in await rows.listing(self._db)]

    async def show(self, name: str) -> Workspace:
        for w in await self.list():
            if w.name == name:
                return w
        raise WorkspaceNotFound

    async def add(self, *, name: str, api_key: SecretStr, webhook_secret: SecretStr | None,
                  webhook_public_url: str | None, max_rps: float | None,
                  max_rpm: int | None, check: bool = True) -> Workspace:
        """A new workspace; with `check`, only once its key lists campaigns."""
        if await rows.by_name(self._db, name) is not None:
            raise WorkspaceExists
        if check:
            await self._check_key(api_key.get_secret_value(), None, name)
        row = await rows.insert(
            self._db, name=name, api_key=self.keyring.encrypt(api_key.get_secret_value()),
            webhook_secret=self.keyring.encrypt(webhook_secret.get_secret_value())
            if webhook_secret else None,
            webhook_public_url=webhook_public_url, max_rps=max_rps, max_rpm=max_rpm)
        if row is None:
            raise WorkspaceExists
        return await self.show(name)

    async def _check_key(self, key: str, row: Any | None, name: str) -> None:
        """One listing call with the key (raises the external error if refused): within
        the workspace's own budget and counted as its call once it exists (a rotation);
        for a workspace not added yet, through a budget of this call alone, so no other
        workspace's budget pays for it."""
        if row is not None:
            probe = self._build(row, key)
        else:
            s = self._settings
            probe = InstantlyClient(
                session=self._http, base_url=s.instantly_base_url, api_key=key,
                timeout_seconds=s.instantly_timeout_seconds, max_retries=0,
                limiter=LocalBudget(1), gate=self._gate, workspace=name)
        await probe.list_campaigns_page(limit=1)

    async def rotate_key(self, name: str, api_key: SecretStr, *, check: bool = True
                         ) -> Workspace:
        row = await rows.by_name(self._db, name)
        if row is None:
            raise WorkspaceNotFound
        if row["id"] == DEFAULT_WORKSPACE_ID:
            raise DefaultFromEnvironment
        if check:
            await self._check_key(api_key.get_secret_value(), row, name)
        await rows.set_key(self._db, name, self.keyring.encrypt(api_key.get_secret_value()))
        return await self.show(name)

    async def set_webhook(self, name: str, *, secret: SecretStr | None,
                          public_url: str | None) -> Workspace:
        row = await rows.by_name(self._db, name)
        if row is not None and row["id"] == DEFAULT_WORKSPACE_ID:
            raise DefaultFromEnvironment
        encrypted = self.keyring.encrypt(secret.get_secret_value()) if secret else None
        if await rows.set_webhook(self._db, name, encrypted, public_url) is None:
            raise WorkspaceNotFound
        return await self.show(name)

    async def set_limits(self, name: str, *, max_rps: float | None, max_rpm: int | None
                         ) -> Workspace:
        """Its own budget (None: INSTANTLY_MAX_RPS / INSTANTLY_MAX_RPM); every replica
        paces its calls by it from its next call (the row's version changes)."""
        row = await rows.by_name(self._db, name)
        if row is not None and row["id"] == DEFAULT_WORKSPACE_ID:
            raise DefaultFromEnvironment
        if await rows.set_limits(self._db, name, max_rps, max_rpm) is None:
            raise WorkspaceNotFound
        return await self.show(name)

    async def set_enabled(self, name: str, enabled: bool) -> Workspace:
        if await rows.set_enabled(self._db, name, enabled) is None:
            raise WorkspaceNotFound
        return await self.show(name)

    async def remove(self, name: str) -> None:
        row = await rows.by_name(self._db, name)
        if row is None:
            raise WorkspaceNotFound
        if not await rows.delete(self._db, name):
            raise WorkspaceInUse
        self._cache.pop(row["id"], None)

    async def assign(self, client_id: str, name: str) -> tuple[str, bool]:
        """Put a client in a workspace: (the workspace it was in, whether it moved)."""
        row = await rows.by_name(self._db, name)
        if row is None:
            raise WorkspaceNotFound
        was, blocked = await rows.assign(self._db, client_id, row["id"])
        if blocked:
            raise ClientLinkedElsewhere
        before = await rows.by_id(self._db, was)
        return before["name"] if before else name, was != row["id"]

    async def reencrypt(self) -> int:
        """Every stored key and secret under the newest encryption key; how many rows."""
        done = 0
        for row in await rows.all_rows(self._db):
            if row["api_key"] is None and row["webhook_secret"] is None:
                continue
            key = self.keyring.rotate(row["api_key"]) if row["api_key"] else None
            secret = (self.keyring.rotate(row["webhook_secret"])
                      if row["webhook_secret"] else None)
            done += await rows.reencrypt(self._db, row["id"], key, secret, row["version"])
        return done
