"""Typed keys of what the app and each request carry."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from daemon.http.console.pages import Pages
from daemon.http.console.session import Sessions
from daemon.services import Services

SERVICES = web.AppKey("services", Services)
SCHEDULER = web.AppKey("scheduler", AsyncIOScheduler)
# Reconcile passes started by `POST /reconcile` (202): awaited or cancelled at shutdown.
BACKGROUND = web.AppKey("background_tasks", set[asyncio.Task[Any]])
CONSOLE_SESSIONS = web.AppKey("console_sessions", Sessions)
CONSOLE_PAGES = web.AppKey("console_pages", Pages)
REQUEST_ID = web.RequestKey("request_id", str)
# Who made the request: the name of its API token (LOOPBACK_CALLER without API_TOKENS).
CALLER = web.RequestKey("caller", str)
