"""The console's pages and forms under /ui/ (server-rendered; JS only enhances).

Every state change goes through the same services as the JSON API (toggle
path, resolver) and the page shows what committed: a switch flips only when
the service answered success. Forms post with a CSRF token; without JS a
form answers 303 back to its page with the outcome in a one-shot flash
cookie, with JS (`Accept: application/json`) it answers the outcome as JSON.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlencode

import structlog
from aiohttp import web
from multidict import MultiDictProxy
from pydantic import SecretStr

from daemon.errors import ApiError, per_item, user_error
from daemon.http.campaigns import (
    decode_campaign_cursor,
    encode_campaign_cursor,
)
from daemon.http.console.charts import Point, Span, bar_chart
from daemon.http.console.i18n import LANG_COOKIE, Translator, choose_language
from daemon.http.console.session import Session, Sessions, clear_cookie, set_cookie
from daemon.http.drift import csv_download
from daemon.http.keys import CONSOLE_PAGES, CONSOLE_SESSIONS, REQUEST_ID, SERVICES
from daemon.http.overview import figures as overview_figures
from daemon.http.requests import path_int, path_uuid, validate
from daemon.http.schemas import (
    CampaignPatch,
    ClientAssignBody,
    WorkspaceCreate,
    WorkspaceKeyBody,
)
from daemon.services import Services
from daemon.workspaces import Workspaces
from reconciler.findings import ACTIONS, ACTIONS_FOR, KINDS, STATE_FILTERS, finding_json
from reconciler.statuses import is_unhealthy, remote_as_local
from sql import UniqueViolation, campaigns, drift, runs, usage
from sql import workspaces as workspace_rows
from sql.statuses import LocalStatus

log = structlog.get_logger("daemon.console")

PAGE_SIZE = 50
FINDINGS_PAGE = 100
MAX_CSV_ROWS = 100_000
ACKNOWLEDGED_SHOWN = 500  # the acknowledged list (all of them: the API or the CSV)
FLASH = "isync_flash"
HEALTH_CHECK_SECONDS = 5.0
REFRESH_HEADER = "X-Console-Refresh"  # console.js's refreshes of an open page

FORM = web.RequestKey("console_form", MultiDictProxy)  # the posted form, read once
NEW_COOKIE = web.RequestKey("console_new_cookie", str)  # a session issued by this request

Page = Callable[[web.Request, "Context"], Awaitable[web.StreamResponse]]


class Context(dict):
    """What every template gets: translator, language, CSRF token, flash message."""

    @property
    def t(self) -> Translator:
        return self["t"]


def _services(request: web.Request) -> Services:
    return request.app[SERVICES]


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _context(request: web.Request, session: Session) -> Context:
    sessions: Sessions = request.app[CONSOLE_SESSIONS]
    t = Translator(choose_language(request))
    flash_kind, _, flash_text = unquote(request.cookies.get(FLASH, "")).partition("|")
    # The language links keep the page's filters (not its cursor: a page of another
    # language starts at the top).
    kept = {k: v for k, v in request.query.items() if k not in ("lang", "cursor")}
    lang_links = {lang: "?" + urlencode({**kept, "lang": lang}) for lang in ("en", "nl")}
    # `signed_in`: show the navigation and the sign-out form (never on the sign-in page)
    return Context(t=t, lang=t.lang, csrf=sessions.csrf(session), session=session,
                   refresh_seconds=_services(request).settings.console_refresh_seconds,
                   lang_links=lang_links, suspension=None,  # pages read it (the banner)
                   signed_in=session.signed_in and sessions.needs_sign_in,
                   path=request.path, back=request.path_qs,
                   flash={"kind": flash_kind, "text": flash_text} if flash_text else None)


def _finish(request: web.Request, response: web.StreamResponse, ctx: Context) -> None:
    if request.query.get("lang") in ("en", "nl"):
        response.set_cookie(LANG_COOKIE, request.query["lang"], path="/ui", samesite="Strict",
                            max_age=365 * 86400)
    if ctx.get("flash"):
        response.del_cookie(FLASH, path="/ui")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
        " frame-ancestors 'none'; form-action 'self'")
    response.headers["X-Content-Type-Options"] = "nosniff"


def _page(request: web.Request, name: str, context: Mapping[str, Any], *,
          status: int = 200) -> web.Response:
    return request.app[CONSOLE_PAGES].render(name, context, status=status)


def _error_page(request: web.Request, ctx: Context, error: ApiError) -> web.Response:
    response = _page(request, "error.html", {**ctx, "message": ctx.t.error(error)},
                     status=error.status)
    _finish(request, response, ctx)
    return response


def page(handler: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A GET page: a session (or the sign-in page), then the handler; errors users may
    see become a page with their sentence in the page's language."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        sessions: Sessions = request.app[CONSOLE_SESSIONS]
        session = await sessions.read(request, _services(request).db)
        if session is None or not session.signed_in:
            if sessions.needs_sign_in:
                raise web.HTTPSeeOther(f"/ui/signin?next={quote(request.path_qs)}")
            session, cookie = await sessions.new(_services(request).db, signed_in=True)
            request[NEW_COOKIE] = cookie
        ctx = _context(request, session)
        try:
            ctx["suspension"] = await _services(request).sync.current()  # the banner
            response = await handler(request, ctx)
        except web.HTTPException:
            raise
        except Exception as exc:
            error = user_error(exc)
            return _error_page(request, ctx, error)
        if NEW_COOKIE in request:
            set_cookie(request, response, request[NEW_COOKIE])
        _finish(request, response, ctx)
        return response

    return wrapped


def action(handler: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A form POST: a signed-in session and its CSRF token, else 403 and nothing changes."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        sessions: Sessions = request.app[CONSOLE_SESSIONS]
        session = await sessions.read(request, _services(request).db)
        form = await request.post()
        request[FORM] = form
        t = Translator(choose_language(request))
        if session is None or not session.signed_in:
            return _session_ended(request, t)
        if not sessions.csrf_ok(session, str(form.get("csrf", ""))):
            log.info("console.csrf_refused", path=request.path)
            raise web.HTTPForbidden(text=t("csrf.refused"))
        ctx = _context(request, session)
        response = await handler(request, ctx)
        _finish(request, response, ctx)
        return response

    return wrapped


def _session_ended(request: web.Request, t: Translator) -> web.Response:
    """A change asked for by a tab whose session ended (signed out, expired): a sentence
    for the switch's toast, or the sign-in page that returns to where the form was."""
    if _wants_json(request):
        return web.json_response({"ok": False, "message": t("signin.ended")}, status=401)
    back = _local_target(request[FORM].get("back"), "/ui/campaigns")
    return _see_other(f"/ui/signin?ended=1&next={quote(back)}")


def _local_target(raw: Any, fallback: str) -> str:
    """A redirect target taken from a form: a console path, else `fallback` (never
    another site, not even as //host)."""
    target = str(raw or "") or fallback
    return target if target.startswith("/ui/") and not target.startswith("//") else fallback


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _back(request: web.Request, kind: str, text: str, fallback: str) -> web.Response:
    """303 to the page the form was on, with the outcome as a one-shot flash."""
    response = _see_other(_local_target(request[FORM].get("back"), fallback))
    response.set_cookie(FLASH, quote(f"{kind}|{text}"), path="/ui", httponly=True,
                        samesite="Strict", max_age=60)
    return response


# -- sign-in ---------------------------------------------------------------------------


async def signin_form(request: web.Request) -> web.Response:
    sessions: Sessions = request.app[CONSOLE_SESSIONS]
    session = await sessions.read(request, _services(request).db)
    if not sessions.needs_sign_in or (session and session.signed_in):
        raise web.HTTPSeeOther("/ui/")
    fresh = None
    if session is None:
        session, fresh = await sessions.new(_services(request).db, signed_in=False)
    ctx = _context(request, session)
    ctx.update(next=request.query.get("next", "/ui/"),
               wrong=request.query.get("wrong") == "1",
               notice=("signin.ended" if request.query.get("ended") == "1" else
                       "signin.signed_out" if request.query.get("signed_out") == "1" else None))
    response = _page(request, "signin.html", ctx)
    if fresh:
        set_cookie(request, response, fresh)
    _finish(request, response, ctx)
    return response


async def signin(request: web.Request) -> web.Response:
    sessions: Sessions = request.app[CONSOLE_SESSIONS]
    session = await sessions.read(request, _services(request).db)
    form = await request.post()
    if session is None or not sessions.csrf_ok(session, str(form.get("csrf", ""))):
        raise web.HTTPForbidden(text=Translator(choose_language(request))("csrf.refused"))
    target = _local_target(form.get("next"), "/ui/")
    caller = sessions.caller_of(str(form.get("token", "")))
    if caller is None:
        log.info("console.signin_refused")
        raise web.HTTPSeeOther(f"/ui/signin?wrong=1&next={quote(target)}")
    _, cookie = await sessions.new(_services(request).db, signed_in=True,
                                   caller=caller)  # a new nonce
    response = _see_other(target)
    set_cookie(request, response, cookie)
    log.info("console.signed_in", caller=caller)
    return response


@action
async def signout(request: web.Request, ctx: Context) -> web.Response:
    await request.app[CONSOLE_SESSIONS].end(_services(request).db, ctx["session"])
    response = _see_other("/ui/signin?signed_out=1" if ctx["signed_in"] else "/ui/campaigns")
    clear_cookie(response)
    return response


# -- campaigns ---------------------------------------------------------------------------


def _disagreement(row: Any, t: Translator) -> str | None:
    """Why the two sides of a linked campaign disagree, in words (None: they agree, or
    the remote side is not known yet)."""
    remote = row["remote_status"]
    if row["external_id"] is None or remote is None:
        return None
    if is_unhealthy(remote):
        return t("disagree.unhealthy")
    remote_local = remote_as_local(remote)
    if remote_local is None or remote_local == row["status"]:
        return None
    if row["status"] == LocalStatus.PAUSED and remote_local == LocalStatus.ACTIVE:
        return t("disagree.still_sending")
    return t("disagree.mismatch", remote=t.remote(remote), local=t.status(row["status"]))


async def _workspace_names(request: web.Request, ctx: Context) -> list[str]:
    """Every workspace's name, also for the page (`workspaces`): its workspace column and
    filter show when the install has more than one (docs/workspaces.md)."""
    ctx["workspaces"] = await workspace_rows.names(_services(request).db)
    return ctx["workspaces"]


def _campaign_view(row: Any, t: Translator) -> dict[str, Any]:
    return {
        "id": str(row["id"]), "client_id": row["client_id"], "name": row["name"],
        "workspace": row["workspace"],
        "external_id": row["external_id"], "status": row["status"],
        "status_words": t.status(row["status"]),
        "remote_words": t.remote(row["remote_status"]) if row["external_id"] else "",
        "remote_status": row["remote_status"], "disagreement": _disagreement(row, t),
        "events": row["events"] or {}, "on": row["status"] == LocalStatus.ACTIVE,
        "switchable": row["status"] != LocalStatus.COMPLETED,
        "pending": row["pending_status"] is not None,
    }


@page
async def campaigns_page(request: web.Request, ctx: Context) -> web.Response:
    q = request.query
    client = q.get("client", "").strip() or None
    status = q.get("status") if q.get("status") in set(LocalStatus) else None
    linked = {"yes": True, "no": False}.get(q.get("linked", ""))
    names = await _workspace_names(request, ctx)
    workspace = q.get("workspace") if q.get("workspace") in names else None
    rows, more = await campaigns.page(
        _services(request).db, limit=PAGE_SIZE, client_id=client, status=status, linked=linked,
        after=decode_campaign_cursor(q["cursor"]) if q.get("cursor") else None,
        workspace=workspace)
    next_query = None
    if more:
        next_query = urlencode({k: v for k, v in {
            "client": client or "", "status": status or "", "linked": q.get("linked", ""),
            "workspace": workspace or "",
            "cursor": encode_campaign_cursor(rows[-1])}.items() if v})
    ctx.update(campaigns=[_campaign_view(r, ctx.t) for r in rows], next_query=next_query,
               first=bool(q.get("cursor")),
               filters={"client": client or "", "status": status or "",
                        "linked": q.get("linked", ""), "workspace": workspace or ""})
    return _page(request, "campaigns.html", ctx)


def _toast(t: Translator, new_status: str) -> str:
    return t("toast.activated") if new_status == LocalStatus.ACTIVE else t("toast.paused")


@action
async def toggle(request: web.Request, ctx: Context) -> web.Response:
    t = ctx.t
    try:
        campaign_id = path_uuid(request, missing="campaign_not_found")
        result = await _services(request).toggles.toggle(
            campaign_id, source="console", request_id=request.get(REQUEST_ID))
    except Exception as exc:
        error = user_error(exc)
        if _wants_json(request):
            return web.json_response({"ok": False, "message": t.error(error)},
                                     status=error.status)
        return _back(request, "error", t.error(error), "/ui/campaigns")
    if _wants_json(request):
        row = await campaigns.get(_services(request).db, campaign_id)  # remote as confirmed
        return web.json_response({
            "ok": True, "message": _toast(t, result.new_status), "status": result.new_status,
            "status_words": t.status(result.new_status),
            "remote_words": t.remote(row["remote_status"]) if row and row["external_id"]
            else ""})
    return _back(request, "ok", _toast(t, result.new_status), "/ui/campaigns")


@action
async def bulk(request: web.Request, ctx: Context) -> web.Response:
    form = request[FORM]
    t = ctx.t
    target = {"activate": LocalStatus.ACTIVE, "pause": LocalStatus.PAUSED}.get(
        str(form.get("action")))
    ids = []
    for raw in form.getall("ids", []):
        try:
            ids.append(uuid.UUID(str(raw)))
        except ValueError:
            continue
    if target is None or not ids:
        return _back(request, "error", t("bulk.none"), "/ui/campaigns")
    unique = list(dict.fromkeys(ids))
    outcomes = per_item(await _services(request).toggles.set_many(
        unique, target, request_id=request.get(REQUEST_ID), source="console"))
    results = []
    for cid, outcome in zip(unique, outcomes, strict=True):
        if isinstance(outcome, ApiError):  # its name, when the campaign exists
            row = await campaigns.get(_services(request).db, cid)
            results.append({"id": str(cid), "ok": False, "message": t.error(outcome),
                            "name": row["name"] if row is not None else None})
        else:
            results.append({"id": str(cid), "ok": True, "name": outcome.campaign_name,
                            "message": _toast(t, outcome.new_status)})
    ok = sum(r["ok"] for r in results)
    ctx.update(results=results, summary=t("bulk.done", ok=ok, failed=len(results) - ok))
    return _page(request, "bulk.html", ctx)


@page
async def campaign_page(request: web.Request, ctx: Context) -> web.Response:
    campaign_id = path_uuid(request, missing="campaign_not_found")
    db = _services(request).db
    row = await campaigns.get(db, campaign_id)
    if row is None:
        raise ApiError("campaign_not_found")
    history = await campaigns.history(db, campaign_id, limit=100)
    span = Span.parse(request.query.get("range"))
    events, events_chart = [], None
    if row["external_id"]:
        events = await campaigns.event_counts(db, row["external_id"])
        starts = span.starts(dt.datetime.now(dt.UTC))
        per_bin = {r["bin"]: r["n"] for r in await campaigns.events_binned(
            db, width=span.bin, since=starts[0], external_id=row["external_id"])}
        events_chart = bar_chart(
            _time_points(span, starts, per_bin, default=0), ctx.t,
            title=ctx.t("chart.events", span=ctx.t(f"span.{span}")),
            axis=ctx.t(f"axis.events.{span}"), unit="", empty=ctx.t("chart.no_events"))
    ctx.update(campaign=_campaign_view(row, ctx.t), history=history, events=events,
               events_chart=events_chart, span=span, span_links=_span_links(request, span))
    return _page(request, "campaign.html", ctx)


@action
async def link(request: web.Request, ctx: Context) -> web.Response:
    t = ctx.t
    external_id = str(request[FORM].get("external_id", "")).strip() or None
    back = f"/ui/campaigns/{request.match_info['id']}"
    try:
        validate(CampaignPatch, {"external_id": external_id})  # the API's rule for an id
    except ApiError:
        return _back(request, "error", t("link.invalid"), back)
    try:
        campaign_id = path_uuid(request, missing="campaign_not_found")
        await _services(request).linker.verify_link(campaign_id, external_id)
        row = await campaigns.update(_services(request).db, campaign_id,
                                     external_id=external_id)
        if row is None:
            raise ApiError("campaign_not_found")
    except UniqueViolation:
        return _back(request, "error", t.error(ApiError("external_id_in_use")), back)
    except Exception as exc:
        error = user_error(exc)
        return _back(request, "error", t.error(error), back)
    return _back(request, "ok", t("link.saved" if external_id else "link.removed"), back)


# -- drift -------------------------------------------------------------------------------


def _finding_view(row: Any, t: Translator) -> dict[str, Any]:
    return {
        "id": row["id"], "campaign_id": row["campaign_id"],
        "campaign_name": row["campaign_name"], "client_id": row["client_id"],
        "workspace": row["workspace"],
        "kind": row["kind"], "kind_words": t(f"kind.{row['kind']}"),
        "external_id": row["external_id"], "local_status": row["local_status"],
        "remote_status": row["remote_status"],
        "expected": row["expected"], "local_words": t.status(row["local_status"]),
        "remote_words": t.remote(row["remote_status"]),
        "first_seen_at": row["first_seen_at"], "shown": _fingerprint(row),
        "acknowledged_at": row["acknowledged_at"], "acknowledged_by": row["acknowledged_by"],
        "note": row["note"],
    }


def _fingerprint(row: Any) -> str:
    """What a confirmation was shown: a finding that no longer matches it is refused.
    (Not its last-seen time: a pass that finds the same drift again changes nothing.)"""
    return f"{row['local_status']}|{row['remote_status']}|{row['kind']}"


def _drift_cursor(row: Any) -> str:
    raw = f"{row['kind']}|{row['first_seen_at'].isoformat()}|{row['id']}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _read_drift_cursor(cursor: str) -> tuple[str, dt.datetime, int] | None:
    """Our own cursor back, or None (a crafted one restarts from the first page)."""
    try:
        kind, at, ident = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        parsed = dt.datetime.fromisoformat(at)
        if kind not in KINDS or parsed.tzinfo is None:
            return None
        return kind, parsed, int(ident)
    except (ValueError, UnicodeError):
        return None


@page
async def drift_page(request: web.Request, ctx: Context) -> web.Response:
    kind = request.query.get("kind") if request.query.get("kind") in KINDS else None
    db = _services(request).db
    names = await _workspace_names(request, ctx)
    workspace = request.query.get("workspace")
    workspace = workspace if workspace in names else None
    ctx["workspace"] = workspace or ""
    acknowledged_count = await drift.acknowledged_count(db, kind=kind)
    if request.query.get("state") == "acknowledged":
        acknowledged = await drift.findings(db, states=["acknowledged"], kind=kind,
                                            limit=ACKNOWLEDGED_SHOWN, workspace=workspace)
        ctx.update(kinds=KINDS, kind=kind or "", state="acknowledged",
                   findings=[_finding_view(r, ctx.t) for r in acknowledged],
                   acknowledged_count=acknowledged_count, next_query=None, first=False)
        return _page(request, "drift.html", ctx)
    rows, more = await drift.open_page(
        db, limit=FINDINGS_PAGE, kind=kind, workspace=workspace,
        after=_read_drift_cursor(request.query.get("cursor", "")))
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["kind"], []).append(_finding_view(row, ctx.t))
    counts = await drift.open_counts(db)
    next_query = urlencode({k: v for k, v in {
        "kind": kind or "", "workspace": workspace or "",
        "cursor": _drift_cursor(rows[-1])}.items() if v}) if more else None
    ctx.update(groups=groups, kinds=KINDS, kind=kind or "", actions_for=ACTIONS_FOR,
               counts=counts, state="open", acknowledged_count=acknowledged_count,
               next_query=next_query, first=bool(request.query.get("cursor")))
    return _page(request, "drift.html", ctx)


@page
async def drift_csv(request: web.Request, ctx: Context) -> web.Response:
    """The open findings as CSV, for the signed-in session (the JSON API wants a bearer)."""
    kind = request.query.get("kind") if request.query.get("kind") in KINDS else None
    workspace = request.query.get("workspace") or None
    rows = await drift.findings(_services(request).db, states=STATE_FILTERS["open"], kind=kind,
                                limit=MAX_CSV_ROWS, workspace=workspace)
    return csv_download([finding_json(r) for r in rows])


@page
async def not_found(request: web.Request, ctx: Context) -> web.Response:
    """Any other path under /ui: the console's own 'not found' page (not JSON)."""
    raise ApiError("not_found")


@page
async def confirm_page(request: web.Request, ctx: Context) -> web.Response:
    finding, chosen = await _finding_and_action(request, request.query.get("action"))
    ctx.update(finding=_finding_view(finding, ctx.t), action=chosen, stale=False)
    return _page(request, "confirm.html", ctx)


async def _finding_and_action(request: web.Request, chosen: Any) -> tuple[Any, str]:
    finding_id = path_int(request, missing="finding_not_found")
    if chosen not in ACTIONS:
        raise ApiError("invalid_action")
    row = await drift.finding(_services(request).db, finding_id)
    if row is None:
        raise ApiError("finding_not_found")
    if row["state"] == "resolved":
        raise ApiError("finding_already_resolved")
    if (chosen == "reopen") != (row["state"] == "acknowledged"):
        raise ApiError("finding_not_acknowledged" if chosen == "reopen" else "invalid_action")
    if chosen != "reopen" and chosen not in ACTIONS_FOR[row["kind"]]:
        raise ApiError("invalid_action")  # only what the drift page offers for its kind
    return row, chosen


@action
async def resolve(request: web.Request, ctx: Context) -> web.Response:
    form = request[FORM]
    t = ctx.t
    try:
        finding, chosen = await _finding_and_action(request, form.get("action"))
        if _fingerprint(finding) != form.get("shown"):
            ctx.update(finding=_finding_view(finding, t), action=chosen, stale=True)
            return _page(request, "confirm.html", ctx, status=409)
        await _services(request).resolver.resolve(
            finding["id"], action=chosen, note=str(form.get("note", "")).strip() or None,
            request_id=request.get(REQUEST_ID), by="console")
        await _services(request).reconciler.refresh_metrics()
    except Exception as exc:
        error = user_error(exc)
        return _back(request, "error", t.error(error), "/ui/drift")
    done = {"acknowledge": "drift.acknowledged", "reopen": "drift.reopened"}
    return _back(request, "ok", t(done.get(chosen, "drift.resolved")), "/ui/drift")


# -- runs and health ---------------------------------------------------------------------


def _seconds(run: Any) -> float | None:
    if run["finished_at"] is None:
        return None
    return round((run["finished_at"] - run["started_at"]).total_seconds(), 2)


def _time_points(span: Span, starts: list[dt.datetime], values: Mapping[dt.datetime, Any], *,
                 default: float | None) -> list[Point]:
    """One point per bin of `span`, `default` where the query found nothing."""
    points = []
    for start in starts:
        value = values.get(start, default)
        points.append(Point(span.label(start), span.hover(start),
                            None if value is None else float(value)))
    return points


def _span_links(request: web.Request, current: Span) -> list[dict[str, Any]]:
    """The 24 h / 7 d / 30 d links of a page with charts, keeping its other parameters."""
    kept = {k: v for k, v in request.query.items() if k != "range"}
    return [{"span": s, "href": f"{request.path}?{urlencode({**kept, 'range': s})}",
             "current": s is current} for s in Span]


@page
async def runs_page(request: web.Request, ctx: Context) -> web.Response:
    t = ctx.t
    recent = await runs.open_over_runs(_services(request).db, runs=100)
    oldest_first = list(reversed(recent))

    def points(value: Callable[[Any], float | None]) -> list[Point]:
        return [Point(f"#{r['id']}", t("chart.run", id=r["id"]), value(r)) for r in oldest_first]

    ctx.update(
        runs=[{**dict(r), "seconds": _seconds(r)} for r in recent],
        open_chart=bar_chart(points(lambda r: float(r["open_after"])), t,
                             title=t("runs.chart_open"), axis=t("axis.findings"), unit="",
                             zero_is_empty=False, empty=t("chart.no_runs")),
        seconds_chart=bar_chart(points(_seconds), t, title=t("runs.chart_seconds"),
                                axis=t("axis.seconds"), unit=" s", integer=False,
                                zero_is_empty=False, empty=t("chart.no_runs")),
    )
    return _page(request, "runs.html", ctx)


@page
async def health_page(request: web.Request, ctx: Context) -> web.Response:
    services = _services(request)
    t = ctx.t
    subscription: dict[str, Any] | None = None
    unchecked = None
    # The subscription is read from the external service when a person opens the page,
    # not by the page's own refreshes (they show only what the database holds).
    if not request.headers.get(REFRESH_HEADER):
        try:
            async with asyncio.timeout(HEALTH_CHECK_SECONDS):
                found = await services.webhook_health.check()
                subscription = {"state": t(f"subscription.{found.state}"),
                                "url": found.url or "—"}
        except TimeoutError:
            unchecked = t.error(ApiError("external_unreachable"))
        except Exception as exc:
            unchecked = t.error(user_error(exc))
    span = Span.parse(request.query.get("range"))
    starts = span.starts(dt.datetime.now(dt.UTC))
    events = await campaigns.events_binned(services.db, width=span.bin, since=starts[0])
    calls = {r["bin"]: r for r in await runs.calls_binned(services.db, width=span.bin,
                                                           since=starts[0])}
    per_bin: dict[dt.datetime, int] = {}
    by_type: dict[str, int] = {}
    for row in events:
        per_bin[row["bin"]] = per_bin.get(row["bin"], 0) + row["n"]
        by_type[row["event_type"]] = by_type.get(row["event_type"], 0) + row["n"]
    rate = {b: round(100 * r["succeeded"] / r["calls"], 1) for b, r in calls.items()}
    p95 = {b: r["p95_ms"] for b, r in calls.items()}
    count = {b: r["calls"] for b, r in calls.items()}
    span_words = t(f"span.{span}")
    # The budget is per workspace: one workspace's calls against its own limit.
    names = await _workspace_names(request, ctx)
    chosen = await services.workspaces.show(
        request.query["workspace"] if request.query.get("workspace") in names else "default")
    busiest = {r["bin"]: r["busiest"] for r in await usage.busiest_minute_binned(
        services.db, width=span.bin, since=starts[0], workspace_id=chosen.id)}
    kept = {k: v for k, v in request.query.items() if k != "workspace"}
    ctx.update(
        budget_chart=bar_chart(
            _time_points(span, starts, busiest, default=0), t,
            title=t("chart.budget", span=span_words), axis=t("axis.per_minute"), unit="",
            empty=t("chart.no_calls"), limit=(chosen.max_rpm, t("chart.limit"))),
        by_action=await usage.by_action(services.db, since=starts[0], workspace_id=chosen.id),
        waits=await usage.waits(services.db, since=starts[0], workspace_id=chosen.id),
        budget={"rps": chosen.max_rps, "rpm": chosen.max_rpm, "workspace": chosen.name},
        budget_links=[{"name": n, "current": n == chosen.name,
                       "href": f"{request.path}?{urlencode({**kept, 'workspace': n})}#budget"}
                      for n in names],
        subscription=subscription, unchecked=unchecked, by_type=sorted(by_type.items()),
        span=span, span_links=_span_links(request, span),
        suspensions=await services.sync.history(),
        notify_targets=await _notify_targets(services),
        events_chart=bar_chart(_time_points(span, starts, per_bin, default=0), t,
                               title=t("chart.events", span=span_words),
                               axis=t(f"axis.events.{span}"), unit="",
                               empty=t("chart.no_events")),
        calls_chart=bar_chart(_time_points(span, starts, count, default=0), t,
                              title=t("chart.calls", span=span_words),
                              axis=t(f"axis.calls.{span}"), unit="",
                              empty=t("chart.no_calls")),
        rate_chart=bar_chart(_time_points(span, starts, rate, default=None), t,
                             title=t("chart.success", span=span_words), axis=t("axis.percent"),
                             unit=" %", integer=False, zero_is_empty=False, top=100,
                             empty=t("chart.no_calls")),
        latency_chart=bar_chart(_time_points(span, starts, p95, default=None), t,
                                title=t("chart.latency", span=span_words), axis=t("axis.ms"),
                                unit=" ms", zero_is_empty=False, empty=t("chart.no_calls")),
    )
    return _page(request, "health.html", ctx)


async def _notify_targets(services: Services) -> list[dict[str, Any]]:
    """Each NOTIFY_URLS target (its secrets masked) with its last delivery, if any."""
    last = {r["target"]: r for r in await services.notifier.last_deliveries()}
    shown = []
    for target in services.notifier.targets:
        row = last.get(target.key)
        shown.append({"shown": target.shown, "last_at": row["last_at"] if row else None,
                      "ok": row["ok"] if row else None,
                      "error": row["last_error"] if row else None,
                      "delivered_at": row["last_delivered_at"] if row else None})
    return shown


@page
async def index(request: web.Request, ctx: Context) -> web.Response:
    """The console's home: the overview (GET /overview's figures), each linked, and the
    control that suspends and resumes syncing (for an admin token's session)."""
    ctx.update(o=await overview_figures(request.app), may_suspend=_is_admin(request, ctx))
    return _page(request, "overview.html", ctx)


# -- suspending syncing ------------------------------------------------------------------


def _is_admin(request: web.Request, ctx: Context) -> bool:
    """Whether the session signed in with an admin token (ADMIN_TOKENS): it may suspend
    and resume syncing and change workspaces."""
    return _services(request).settings.is_admin(ctx["session"].caller)


def _console_caller(ctx: Context) -> str:
    """Who the audit names for a change made in the console: its token, and where."""
    return f"{ctx['session'].caller} (console)"


@action
async def suspend_sync(request: web.Request, ctx: Context) -> web.Response:
    t = ctx.t
    form = request[FORM]
    if not _is_admin(request, ctx):
        return _back(request, "error", t.error(ApiError("admin_only")), "/ui/")
    if form.get("confirm") != "yes":
        return _back(request, "error", t("sync.confirm_needed"), "/ui/")
    try:
        await _services(request).sync.suspend(
            by=_console_caller(ctx), reason=str(form.get("reason", "")),
            no_read=form.get("no_read") == "yes")
    except Exception as exc:
        return _back(request, "error", t.error(user_error(exc)), "/ui/")
    return _back(request, "ok", t("sync.suspended_done"), "/ui/")


@action
async def resume_sync(request: web.Request, ctx: Context) -> web.Response:
    t = ctx.t
    if not _is_admin(request, ctx):
        return _back(request, "error", t.error(ApiError("admin_only")), "/ui/")
    try:
        await _services(request).sync.resume(by=_console_caller(ctx))
    except Exception as exc:
        return _back(request, "error", t.error(user_error(exc)), "/ui/")
    return _back(request, "ok", t("sync.resumed_done"), "/ui/")


# -- workspaces --------------------------------------------------------------------------
# The same operations as /workspaces (daemon/http/workspaces.py), for admin sessions;
# keys are typed into password fields and never shown or put back into a form.

WORKSPACES_PAGE = "/ui/workspaces"


@page
async def workspaces_page(request: web.Request, ctx: Context) -> web.Response:
    ctx.update(workspaces=await _services(request).workspaces.list(),
               may_manage=_is_admin(request, ctx))
    return _page(request, "workspaces.html", ctx)


async def _workspace_change(request: web.Request, ctx: Context, done: str,
                            change: Callable[[Workspaces], Awaitable[Any]]) -> web.Response:
    """Run an admin's change of the workspaces; back to the page with its outcome."""
    t = ctx.t
    if not _is_admin(request, ctx):
        return _back(request, "error", t.error(ApiError("admin_only")), WORKSPACES_PAGE)
    try:
        await change(_services(request).workspaces)
    except Exception as exc:
        return _back(request, "error", t.error(user_error(exc)), WORKSPACES_PAGE)
    return _back(request, "ok", t(done), WORKSPACES_PAGE)


def _form_fields(request: web.Request, *names: str) -> dict[str, Any]:
    """The named form fields that were filled in (numbers as numbers)."""
    form = request[FORM]
    found: dict[str, Any] = {}
    for name in names:
        value = str(form.get(name, "")).strip()
        if value:
            found[name] = float(value) if name == "max_rps" else (
                int(value) if name == "max_rpm" and value.isdigit() else value)
    return found


@action
async def add_workspace(request: web.Request, ctx: Context) -> web.Response:
    async def change(workspaces: Workspaces) -> None:
        try:
            body = validate(WorkspaceCreate, _form_fields(
                request, "name", "api_key", "webhook_secret", "webhook_public_url", "max_rps",
                "max_rpm"))
        except ValueError:
            raise ApiError("invalid_body", detail="max_rps: must be a number") from None
        await workspaces.add(
            name=body.name, api_key=SecretStr(body.api_key),
            webhook_secret=SecretStr(body.webhook_secret) if body.webhook_secret else None,
            webhook_public_url=body.webhook_public_url, max_rps=body.max_rps,
            max_rpm=body.max_rpm, check=True)

    return await _workspace_change(request, ctx, "ws.added", change)


@action
async def rotate_workspace_key(request: web.Request, ctx: Context) -> web.Response:
    async def change(workspaces: Workspaces) -> None:
        body = validate(WorkspaceKeyBody, _form_fields(request, "api_key"))
        await workspaces.rotate_key(request.match_info["name"], SecretStr(body.api_key))

    return await _workspace_change(request, ctx, "ws.key_rotated", change)


@action
async def assign_workspace_client(request: web.Request, ctx: Context) -> web.Response:
    async def change(workspaces: Workspaces) -> None:
        body = validate(ClientAssignBody, _form_fields(request, "client_id"))
        await workspaces.assign(body.client_id, request.match_info["name"])

    return await _workspace_change(request, ctx, "ws.assigned", change)


@action
async def set_workspace_enabled(request: web.Request, ctx: Context) -> web.Response:
    enabled = request[FORM].get("enabled") == "yes"

    async def change(workspaces: Workspaces) -> None:
        await workspaces.set_enabled(request.match_info["name"], enabled)

    return await _workspace_change(request, ctx, "ws.enabled_done" if enabled
                                   else "ws.disabled_done", change)
