"""One client per external workspace: what the reconciler, linker, resolver and
webhook code ask for, without knowing where workspaces are kept.

Each workspace has its own API key, rate limit and data at the external service
(docs/workspaces.md). A `WorkspaceClient` pairs a workspace's id and name with
the client that carries its key and budget; `Clients` hands them out (the daemon's
`daemon.workspaces.Workspaces` reads them from Postgres). A campaign is only ever
called through its own workspace's client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from instantly.client import InstantlyClient

DEFAULT_WORKSPACE_ID = 1  # the install's first workspace (INSTANTLY_API_KEY); never removed


class WorkspaceDisabled(Exception):
    """The workspace is disabled: nothing is sent to it (its campaigns' changes and
    resolutions are refused, passes skip it)."""

    code = "workspace_disabled"

    def __init__(self, workspace: str) -> None:
        super().__init__(workspace)
        self.workspace = workspace


@dataclass(frozen=True)
class WorkspaceClient:
    id: int
    name: str
    client: InstantlyClient
    enabled: bool = True


class Clients(Protocol):
    """Where a caller finds a workspace's client."""

    async def enabled(self) -> list[WorkspaceClient]:
        """Every enabled workspace, read now (a pass lists each of them)."""
        ...

    async def get(self, workspace_id: int, *, version: int | None = None) -> WorkspaceClient:
        """The workspace's client; `version`: the row version the caller just read
        (the cached client is reused while it matches). `WorkspaceDisabled` when it is."""
        ...
