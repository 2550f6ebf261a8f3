"""HTTP surface of the reconciler (filled in by the reconciler work)."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Mount /reconcile and /drift routes and register the reconcile job."""
