"""Linking local campaigns to remote ones: one by its id, or in bulk by exact name.

A campaign is linked only to a remote campaign of its own workspace (its
client's; docs/workspaces.md): `verify` reads the remote campaign there first,
so a link to a campaign that does not exist in that workspace is refused.

In bulk, a plan is computed from one full listing of the remote campaigns: each
unlinked local campaign (optionally of one client) is matched to the remote
campaign of exactly the same name that nothing links yet. Exactly one
candidate each way → `matched`; several → `ambiguous` (a person decides);
none → `unmatched`. Nothing changes unless the plan is applied, and applying
links a campaign only if it and the remote campaign are both still unlinked.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

import structlog

from instantly.errors import ExternalError, ExternalNotFound
from instantly.workspaces import DEFAULT_WORKSPACE_ID, Clients, WorkspaceClient, WorkspaceDisabled
from sql import Database, UniqueViolation

log = structlog.get_logger("reconciler.linking")


@dataclass
class RemoteCampaign:
    id: str
    name: str
    status: int | None
    linked_to: str | None  # local campaign id, when one links it


@dataclass
class LinkPlan:
    matched: list[dict[str, Any]] = field(default_factory=list)
    ambiguous: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    applied: bool = False
    linked: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"matched": self.matched, "ambiguous": self.ambiguous,
                "unmatched": self.unmatched, "applied": self.applied, "linked": self.linked}


class Linker:
    def __init__(self, *, db: Database, clients: Clients) -> None:
        self._db = db
        self._clients = clients

    async def verify(self, client_id: str, external_id: str) -> None:
        """Refuse a link the client's workspace says does not exist (one read there:
        `ExternalNotFound`). A read that cannot be made or answered (no key, a refused
        key, an outage, a disabled workspace, syncing suspended) does not block local
        work: the link is kept, logged, and the next pass judges it (remote_missing
        when the campaign is not in that workspace's listing)."""
        row = await self._db.fetchrow("client_workspace", client_id)
        try:
            workspace = await self._clients.get(row["id"], version=row["version"])
            await workspace.client.get_campaign(external_id)
        except ExternalNotFound:
            raise
        except (ExternalError, WorkspaceDisabled) as exc:
            log.warning("link.unverified", external_id=external_id, code=exc.code)

    async def verify_link(self, campaign_id: Any, external_id: str | None) -> None:
        """Before a campaign is linked to `external_id`: `verify` in its client's
        workspace, unless it is an unlink, the campaign's current link, or the campaign
        is unknown (the update itself then answers not found)."""
        if external_id is None:
            return
        row = await self._db.fetchrow("campaign_link_target", campaign_id)
        if row is not None and row["external_id"] != external_id:
            await self.verify(row["client_id"], external_id)

    async def remote(self, *, search: str | None = None,
                     workspace: WorkspaceClient | None = None) -> list[RemoteCampaign]:
        """Every remote campaign of a workspace (default: the default workspace) whose
        name contains `search`, with the local campaign that links it, if any."""
        workspace = workspace or await self._clients.get(DEFAULT_WORKSPACE_ID)
        items: dict[str, dict[str, Any]] = {}
        async for page in workspace.client.iter_campaign_pages(limit=100, search=search):
            for item in page:
                if isinstance(item.get("id"), str):
                    items.setdefault(item["id"], item)
        rows = await self._db.fetch("campaigns_linked_to", list(items))
        linked = {r["external_id"]: str(r["id"]) for r in rows}
        return [RemoteCampaign(i, str(c.get("name") or ""),
                               c.get("status") if type(c.get("status")) is int else None,
                               linked.get(i))
                for i, c in sorted(items.items(), key=lambda kv: str(kv[1].get("name")))]

    async def by_name(self, *, client_id: str | None = None, apply: bool = False
                      ) -> LinkPlan:
        """Match unlinked local campaigns to unlinked remote ones by exact name, each
        workspace's campaigns to its own remote campaigns only."""
        plan = LinkPlan()
        for workspace in await self._clients.enabled():
            if workspace.client.configured:
                await self._plan(plan, workspace, client_id)
        if apply:
            plan.applied = True
            for match in plan.matched:
                try:
                    done = await self._db.fetchval(
                        "campaign_link", match["campaign_id"], match["external_id"])
                except UniqueViolation:
                    done = None
                match["linked"] = done is not None
                plan.linked += done is not None
        return plan

    async def _plan(self, plan: LinkPlan, workspace: WorkspaceClient, client_id: str | None
                    ) -> None:
        """One workspace's matches, added to `plan`."""
        free = collections.defaultdict(list)
        for campaign in await self.remote(workspace=workspace):
            if campaign.linked_to is None:
                free[campaign.name].append(campaign.id)
        local = await self._db.fetch("campaigns_unlinked", client_id, workspace.id)
        local_names = collections.Counter(r["name"] for r in local)
        for row in local:
            entry = {"campaign_id": str(row["id"]), "campaign_name": row["name"],
                     "client_id": row["client_id"], "workspace": workspace.name}
            candidates = free.get(row["name"], [])
            if len(candidates) == 1 and local_names[row["name"]] == 1:
                plan.matched.append({**entry, "external_id": candidates[0]})
            elif candidates:
                plan.ambiguous.append({**entry, "candidates": candidates})
            else:
                plan.unmatched.append(entry)
