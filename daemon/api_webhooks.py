"""HTTP surface of the webhook receiver (filled in by the webhooks work)."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Mount POST /webhooks/instantly and register the retention job."""
