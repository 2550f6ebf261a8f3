"""The permission (scope) each call of ours needs, as the API reference lists them.

A key carries scopes such as `campaigns:read`; a call whose scope the key lacks
is answered 403 on that endpoint only. A scope `resource:verb` is also granted
by `resource:all`, `all:verb` and `all:all`.
"""

from __future__ import annotations

from collections.abc import Iterable

# client action (the name `InstantlyClient` calls it by) → the scope it needs
NEEDED = {
    "list": "campaigns:read",
    "get": "campaigns:read",
    "activate": "campaigns:update",
    "pause": "campaigns:update",
    "list_webhooks": "webhooks:read",
    "event_types": "webhooks:read",
    "create_webhook": "webhooks:create",
    "update_webhook": "webhooks:update",
    "resume_webhook": "webhooks:update",
    "webhook_events": "webhook_events:read",
}


def grants(scopes: Iterable[str], needed: str) -> bool:
    """Whether a key with `scopes` may make a call that needs `needed`."""
    resource, _, verb = needed.partition(":")
    held = set(scopes)
    return bool(held & {needed, f"{resource}:all", f"all:{verb}", "all:all"})
