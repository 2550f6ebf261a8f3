"""The console's routes, templates and static files, added to the daemon's app."""


from __future__ import annotations

from pathlib import Path

from aiohttp import web

from daemon.config import Settings
from daemon.http.console import formats, views
from daemon.http.console.pages import Pages
from daemon.http.console.session import Sessions
from daemon.http.keys import CONSOLE_PAGES, CONSOLE_SESSIONS

PREFIX = "/ui"
HERE = Path(__file__).parent


def setup_console(app: web.Application, settings: Settings) -> None:
    app[CONSOLE_PAGES] = Pages(HERE / "templates", filters={"date": formats.date,
                                                                "short_id": formats.short_id})
    app[CONSOLE_SESSIONS] = Sessions(settings.named_tokens())
    r = app.router
    r.add_get(f"{PREFIX}", views.index)
    r.add_get(f"{PREFIX}/", views.index)
    r.add_get(f"{PREFIX}/signin", views.signin_form)
    r.add_post(f"{PREFIX}/signin", views.signin)
    r.add_post(f"{PREFIX}/signout", views.signout)
    r.add_get(f"{PREFIX}/campaigns", views.campaigns_page)
    r.add_post(f"{PREFIX}/campaigns/bulk", views.bulk)
    r.add_get(f"{PREFIX}/campaigns/{{id}}", views.campaign_page)
    r.add_post(f"{PREFIX}/campaigns/{{id}}/toggle", views.toggle)
    r.add_post(f"{PREFIX}/campaigns/{{id}}/link", views.link)
    r.add_get(f"{PREFIX}/drift", views.drift_page)
    r.add_get(f"{PREFIX}/drift.csv", views.drift_csv)
    r.add_get(f"{PREFIX}/drift/{{id}}/confirm", views.confirm_page)
    r.add_post(f"{PREFIX}/drift/{{id}}/resolve", views.resolve)
    r.add_get(f"{PREFIX}/runs", views.runs_page)
    r.add_get(f"{PREFIX}/health", views.health_page)
    r.add_post(f"{PREFIX}/sync/suspend", views.suspend_sync)
    r.add_post(f"{PREFIX}/sync/resume", views.resume_sync)
    r.add_get(f"{PREFIX}/workspaces", views.workspaces_page)
    r.add_post(f"{PREFIX}/workspaces", views.add_workspace)
    r.add_post(f"{PREFIX}/workspaces/{{name}}/key", views.rotate_workspace_key)
    r.add_post(f"{PREFIX}/workspaces/{{name}}/clients", views.assign_workspace_client)
    r.add_post(f"{PREFIX}/workspaces/{{name}}/enabled", views.set_workspace_enabled)
    r.add_static(f"{PREFIX}/static", HERE / "static", append_version=True)
    r.add_get(f"{PREFIX}/{{tail:.*}}", views.not_found)  # last: every other /ui path
