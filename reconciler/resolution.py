"""Resolving a drift finding: acknowledge, adopt the remote status, or push ours.

`adopt_remote` and `push_local` are compare-and-set: they re-read the remote
campaign just before acting and refuse (`DriftChanged`) if either side moved
since the finding was recorded. `push_local` never "fixes" a negative remote
status (unhealthy, bounce protect, suspended): a person must act in the
dashboard. Every status change and every attempted call is audited with
source `resolution`.
"""

from __future__ import annotations

from typing import Any

from instantly.client import InstantlyClient
from instantly.errors import ExternalError, ExternalNotFound
from instantly.workspaces import Clients
from reconciler.findings import finding_json
from reconciler.statuses import LOCAL_TO_ACTION, is_unhealthy, remote_as_local
from sql import Database


class ResolutionError(Exception):
    """Base of the refusals below; `code` is the API error code of each."""

    code: str


class FindingNotFound(ResolutionError):
    """No finding has that id."""

    code = "finding_not_found"


class FindingAlreadyResolved(ResolutionError):
    """The finding was resolved (by a pass or a person) before this request."""

    code = "finding_already_resolved"


class FindingNotAcknowledged(ResolutionError):
    """Reopen asked for a finding that is not acknowledged."""

    code = "finding_not_acknowledged"


class DriftChanged(ResolutionError):
    """Local or remote status moved since the finding was recorded (compare-and-set)."""

    code = "drift_changed"


class NotFixableRemotely(ResolutionError):
    """Remote status is negative (unhealthy, bounce protect, suspended): a person must act."""

    code = "not_fixable_remotely"


class CampaignUnlinked(ResolutionError):
    """The campaign was unlinked (or deleted) since the finding was recorded."""

    code = "campaign_unlinked"


class ActionNotApplicable(ResolutionError):
    """No such action for this finding: remote_missing and toggle_incomplete, adopting
    a remote code with no local meaning, pushing a draft or completed campaign."""

    code = "action_not_applicable"


class Resolver:
    def __init__(self, *, db: Database, clients: Clients) -> None:
        self._db = db
        self._clients = clients  # the finding's campaign is read in its own workspace

    async def resolve(self, finding_id: int, *, action: str, note: str | None,
                      request_id: str | None = None, by: str = "api") -> dict[str, Any]:
        """Carry out `action` on the finding; `by` (api, console) is recorded when it
        acknowledges. `reopen` returns an acknowledged finding to open."""
        finding = await self._db.fetchrow("finding_get", finding_id)
        if finding is None:
            raise FindingNotFound
        if finding["state"] == "resolved":
            raise FindingAlreadyResolved
        if action == "reopen":
            if await self._db.fetchval("finding_reopen", finding_id, note) is None:
                raise FindingNotAcknowledged
        elif action == "acknowledge":
            if await self._db.fetchval("finding_acknowledge", finding_id, note, by) is None:
                raise FindingAlreadyResolved
        else:
            await self._act(finding, action, request_id)
            if await self._db.fetchval("finding_resolve", finding_id, action, note) is None:
                raise FindingAlreadyResolved
        return finding_json(await self._db.fetchrow("finding_get", finding_id))

    async def _act(self, finding: Any, action: str, request_id: str | None) -> None:
        external_id = finding["campaign_external_id"]
        if finding["campaign_id"] is None or external_id is None:
            raise CampaignUnlinked
        if finding["kind"] in ("remote_missing", "toggle_incomplete"):
            raise ActionNotApplicable
        if finding["campaign_status"] != finding["local_status"]:
            raise DriftChanged
        client = (await self._clients.get(finding["workspace_id"],
                                          version=finding["workspace_version"])).client
        try:
            remote = await client.get_campaign(external_id)
        except ExternalNotFound:
            raise DriftChanged from None
        remote_status = remote["status"]
        if remote_status != finding["remote_status"]:
            raise DriftChanged
        if action == "adopt_remote":
            await self._adopt(finding, remote_status, request_id)
        else:
            await self._push(client, finding, external_id, remote_status, request_id)

    async def _adopt(self, finding: Any, remote_status: int, request_id: str | None) -> None:
        target = remote_as_local(remote_status)
        if target is None:  # unhealthy or unknown: no local status means that
            raise ActionNotApplicable
        async with self._db.transaction() as tx:
            changed = await tx.fetchval(
                "campaign_adopt_status", finding["campaign_id"], target,
                finding["local_status"], remote_status,
            )
            if changed is None:
                raise DriftChanged
            await tx.execute(
                "status_change_insert", finding["campaign_id"], finding["local_status"],
                target, "resolution", None, "applied", None, request_id,
            )

    async def _push(self, client: InstantlyClient, finding: Any, external_id: str,
                    remote_status: int, request_id: str | None) -> None:
        if is_unhealthy(remote_status):
            raise NotFixableRemotely
        local = finding["local_status"]
        action = LOCAL_TO_ACTION.get(local)
        if action is None:  # draft or completed have no remote call to match them
            raise ActionNotApplicable
        try:
            confirmed = await client.change_status(action, external_id)
        except ExternalError as exc:
            await self._db.execute(
                "status_change_insert", finding["campaign_id"], local, local, "resolution",
                action, exc.outcome, exc.code, request_id,
            )
            raise
        async with self._db.transaction() as tx:
            await tx.execute("campaign_record_remote", finding["campaign_id"], confirmed.status)
            await tx.execute(
                "status_change_insert", finding["campaign_id"], local, local, "resolution",
                action, "confirmed_by_read" if confirmed.by_read else "applied", None,
                request_id,
            )
