"""/console: the pages for operators (queue, conversation), content teams (knowledge health,
sync) and managers (analytics), behind a sign-in with a key.

Every state change is a POST form carrying the session's CSRF token, answered with a redirect
(so a reload does not repeat it); a refused transition (409) shows the page again with a
message that says what happened and what to do.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from api import analytics, handoffs, models, sources
from api.channels import CHANNELS, send_operator_reply
from api.deps import NowDep, RuntimeDep, SessionDep, SyncWorkerDep
from api.errors import AuthenticationFailed, Conflict, RateLimited, ServiceError
from api.keys import Principal, authenticate
from api.runtime import Runtime
from api.web import charts
from api.web.pages import HERE, TEMPLATES, change_stream, render
from api.web.sessions import (
    CONSOLE_COOKIE,
    CONSOLE_LIFETIME,
    LOGIN_CSRF_COOKIE,
    WebUser,
    close_session,
    csrf_matches,
    find_session,
    new_token,
    open_session,
)

router = APIRouter(prefix="/console", include_in_schema=False)
CONSOLE_ROLES = ("operator", "content", "manager", "admin")
HOME_OF = {"operator": "/console/", "content": "/console/knowledge", "manager": "/console/analytics"}


# --- who is signed in ------------------------------------------------------------------------------
def _user(request: Request, session: Session, now: datetime) -> WebUser:
    """The signed-in user, or a redirect (303) to the sign-in page."""
    row = find_session(session, request.cookies.get(CONSOLE_COOKIE), kind="console", now=now)
    if row is None:
        raise HTTPException(303, headers={"Location": "/console/login"})
    return WebUser(Principal(key_id=row.key_id, name=row.name, role=row.role), csrf=row.csrf)


def _check_csrf(user: WebUser, token: str | None) -> None:
    if not csrf_matches(user.csrf, token):
        raise HTTPException(403, "the form is out of date (CSRF check failed): reload the page and try again")


def _page(template: str, user: WebUser | None, status_code: int = 200, **context: Any) -> Response:
    return render(template, status_code=status_code, user=user, **context)


def _forbidden(user: WebUser, needs: str) -> Response:
    return _page("forbidden.html", user, status_code=403, needs=needs)


# --- sign in and out -------------------------------------------------------------------------------
@router.get("/login")
def login_page(request: Request, error: str | None = None) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_token()
    response = _page("login.html", None, login_csrf=token, error=error)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
        path="/console",
    )
    return response


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    now: NowDep,
    key: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    # Login CSRF: the form's token must match the cookie set with the form (double submit).
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE) or "", csrf):
        return _page("login.html", None, 403, login_csrf=csrf or new_token(), error="The form expired: try again.")
    client = request.client.host if request.client else "-"
    if runtime.limiter.acquire(f"console-login:{client}", time.monotonic()) is not None:
        raise RateLimited(60)
    try:
        principal = authenticate(session, key.strip(), admin_key=runtime.settings.admin_key)
    except AuthenticationFailed:
        return _page("login.html", None, 401, login_csrf=csrf, error="That key is unknown or revoked.")
    if principal.role not in CONSOLE_ROLES:
        return _page(
            "login.html", None, 403, login_csrf=csrf,
            error="That key cannot sign in here: use an operator, content, manager or admin key.",
        )
    token, _ = open_session(session, kind="console", principal=principal, now=now)
    response = RedirectResponse(HOME_OF.get(principal.role, "/console/"), status_code=303)
    response.set_cookie(
        CONSOLE_COOKIE, token, max_age=int(CONSOLE_LIFETIME.total_seconds()), httponly=True,
        samesite="strict", secure=request.url.scheme == "https", path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, now: NowDep, csrf: Annotated[str, Form()] = "") -> Response:
    user = _user(request, session, now)
    _check_csrf(user, csrf)
    close_session(session, request.cookies.get(CONSOLE_COOKIE))
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(CONSOLE_COOKIE, path="/")
    return response


# --- the queue ---------------------------------------------------------------------------------------
def _waiting(since: datetime, now: datetime) -> str:
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d}" if hours < 48 else f"{hours // 24} days"


def _queue(
    session: Session, user: WebUser, *, view: str, reason: str, language: str, channel: str, now: datetime
) -> list[dict[str, Any]]:
    h, c = models.Handoff, models.Conversation
    query = select(h, c.channel).join(c, c.id == h.conversation_id)
    if view == "open":
        query = query.where(h.status == "open")
    elif view == "mine":
        query = query.where(h.status == "claimed", h.claimed_by == user.principal.key_id)
    if reason:
        query = query.where(h.reason == reason)
    if language:
        query = query.where(h.language == language)
    if channel:
        query = query.where(c.channel == channel)
    order = (h.created_at, h.id) if view != "all" else (h.created_at.desc(), h.id)
    rows = session.execute(query.order_by(*order).limit(200)).all()
    return [
        {
            "id": row.id,
            "status": row.status,
            "reason": row.reason,
            "language": row.language or "",
            "channel": channel_name,
            "summary": row.summary,
            "created_at": row.created_at,
            "waiting": _waiting(row.created_at, now) if row.status == "open" else "",
            "mine": row.claimed_by == user.principal.key_id,
        }
        for row, channel_name in rows
    ]


def _queue_choices(session: Session) -> dict[str, list[str]]:
    h, c = models.Handoff, models.Conversation
    return {
        "reasons": sorted(r for (r,) in session.execute(select(h.reason).distinct()) if r),
        "languages": sorted(r for (r,) in session.execute(select(h.language).distinct()) if r),
        "channels": sorted(r for (r,) in session.execute(select(c.channel).distinct()) if r),
    }


@router.get("/")
def queue_page(
    request: Request,
    session: SessionDep,
    now: NowDep,
    view: Annotated[str, Query(pattern="^(open|mine|all)$")] = "open",
    reason: str = "",
    language: str = "",
    channel: str = "",
    fragment: bool = False,
) -> Response:
    user = _user(request, session, now)
    if not user.may("operator"):
        if user.principal.role in HOME_OF:
            return RedirectResponse(HOME_OF[user.principal.role], status_code=303)
        return _forbidden(user, "an operator key")
    items = _queue(session, user, view=view, reason=reason, language=language, channel=channel, now=now)
    filters = {"view": view, "reason": reason, "language": language, "channel": channel}
    if fragment:
        return _page("queue_rows.html", user, items=items, filters=filters)
    return _page("queue.html", user, items=items, filters=filters, choices=_queue_choices(session), page="queue")


def _queue_fingerprint(runtime: Runtime) -> tuple[Any, ...]:
    with runtime.db.session() as session:
        h, m = models.Handoff, models.Message
        handoff_state = session.execute(
            select(func.count(), func.max(h.created_at), func.max(h.claimed_at), func.max(h.resolved_at))
        ).one()
        last_message = session.scalar(select(func.max(m.seq)))
        return (*handoff_state, last_message)


@router.get("/events")
def queue_events(request: Request, session: SessionDep, runtime: RuntimeDep, now: NowDep) -> Response:
    """`change` whenever a handoff opens, moves, or a message arrives (operators' pages refresh)."""
    user = _user(request, session, now)
    if not user.may("operator"):
        return _forbidden(user, "an operator key")
    session.close()  # the stream lasts seconds: hold no connection meanwhile
    return change_stream(request, lambda: _queue_fingerprint(runtime))


# --- one handoff -------------------------------------------------------------------------------------
def _conversation_context(session: Session, user: WebUser, handoff_id: str) -> dict[str, Any]:
    row = handoffs.get_handoff(session, handoff_id)
    view = handoffs.handoff_view(session, row, with_transcript=True)
    looked_at: dict[tuple[str, str], dict[str, Any]] = {}
    for turn in view["transcript"]:
        for citation in turn.get("citations") or []:
            looked_at.setdefault((citation["source_id"], citation.get("url") or ""), citation)
    return {
        "handoff": view,
        "transcript": view["transcript"],
        "evidence": view["evidence"] or [],
        "looked_at": list(looked_at.values()),
        "mine": row.status == "claimed" and row.claimed_by == user.principal.key_id,
    }


@router.get("/handoffs/{handoff_id}")
def handoff_page(
    handoff_id: str, request: Request, session: SessionDep, now: NowDep, fragment: bool = False
) -> Response:
    user = _user(request, session, now)
    if not user.may("operator"):
        return _forbidden(user, "an operator key")
    context = _conversation_context(session, user, handoff_id)
    if fragment:
        return _page("transcript.html", user, **context)
    return _page("handoff.html", user, page="queue", **context)


def _act(
    request: Request, session: Session, handoff_id: str, now: datetime, csrf: str, action: Any
) -> Response:
    user = _user(request, session, now)
    if not user.may("operator"):
        return _forbidden(user, "an operator key")
    _check_csrf(user, csrf)
    try:
        action(user.principal)
    except Conflict as exc:
        session.rollback()
        context = _conversation_context(session, user, handoff_id)
        return _page("handoff.html", user, 409, page="queue", error=str(exc), **context)
    return RedirectResponse(f"/console/handoffs/{handoff_id}", status_code=303)


@router.post("/handoffs/{handoff_id}/claim")
def claim(handoff_id: str, request: Request, session: SessionDep, now: NowDep, csrf: Annotated[str, Form()] = "") -> Response:
    return _act(request, session, handoff_id, now, csrf, lambda who: handoffs.claim(session, handoff_id, who, now=now))


@router.post("/handoffs/{handoff_id}/reply")
def reply(
    handoff_id: str,
    request: Request,
    session: SessionDep,
    now: NowDep,
    runtime: RuntimeDep,
    text: Annotated[str, Form(max_length=4000)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    if not text.strip():
        return RedirectResponse(f"/console/handoffs/{handoff_id}", status_code=303)
    # The same path as POST /v1/handoffs/{id}/messages: delivered on the customer's channel, or a
    # 409 page when WhatsApp's window has closed.
    return _act(
        request, session, handoff_id, now, csrf,
        lambda who: send_operator_reply(
            session, CHANNELS, runtime.settings, handoff_id, who, text=text.strip(), message_id=None, now=now
        ),
    )


@router.post("/handoffs/{handoff_id}/resolve")
def resolve(
    handoff_id: str,
    request: Request,
    session: SessionDep,
    now: NowDep,
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    return _act(
        request, session, handoff_id, now, csrf,
        lambda who: handoffs.resolve(session, handoff_id, who, note=note.strip() or None, now=now),
    )


# --- knowledge health --------------------------------------------------------------------------------
def _recent_jobs(session: Session) -> list[models.SyncJob]:
    return list(session.scalars(select(models.SyncJob).order_by(models.SyncJob.created_at.desc()).limit(10)))


@router.get("/knowledge")
def knowledge_page(
    request: Request, session: SessionDep, runtime: RuntimeDep, now: NowDep, job: str | None = None
) -> Response:
    user = _user(request, session, now)
    if not user.may("content"):
        return _forbidden(user, "a content key")
    problem = None
    listed: list[dict[str, Any]] = []
    report: dict[str, Any] | None = None
    try:
        listed = sources.list_sources(runtime)
        report = sources.health(runtime, now=now)
    except ServiceError as exc:
        problem = str(exc)
    except Exception as exc:  # a knowledge error: shown, the page still works
        problem = f"{type(exc).__name__}: {exc}"
    return _page(
        "knowledge.html", user, page="knowledge", sources=listed, report=report, problem=problem,
        jobs=_recent_jobs(session), watched=job,
    )


@router.post("/knowledge/sync")
def start_sync(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    runtime: RuntimeDep,
    sync_worker: SyncWorkerDep,
    now: NowDep,
    source_id: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    user = _user(request, session, now)
    if not user.may("content"):
        return _forbidden(user, "a content key")
    _check_csrf(user, csrf)
    job, created = sources.start_sync(session, runtime, source_id, user.principal, now=now)
    if created:  # otherwise merged into a queued job, which the page follows instead
        background.add_task(sync_worker.drain)
    return RedirectResponse(f"/console/knowledge?job={job.id}", status_code=303)


@router.get("/knowledge/jobs/{job_id}")
def job_status(job_id: str, request: Request, session: SessionDep, runtime: RuntimeDep, now: NowDep) -> dict:
    """The job's state for the page's progress line (polled by console.js)."""
    user = _user(request, session, now)
    if not user.may("content"):
        raise HTTPException(403, "needs a content key")
    row = session.get(models.SyncJob, job_id)
    if row is None:
        raise HTTPException(404, "no such sync job")
    progress = runtime.sync_progress.get(job_id)
    return {
        "id": row.id,
        "source_id": row.source_id,
        "status": row.status,
        "error": row.error,
        "progress": progress,
        "finished": row.status in ("succeeded", "failed"),
    }


# --- analytics ---------------------------------------------------------------------------------------
def _period(since: str, until: str, now: datetime) -> tuple[analytics.Period, str, str]:
    """Dates from the form (whole days, UTC); by default the last 30 days including today."""
    today = now.astimezone(UTC).date()
    end = datetime.fromisoformat(until).date() if until else today
    start = datetime.fromisoformat(since).date() if since else end - timedelta(days=29)
    period = analytics.Period(
        datetime(start.year, start.month, start.day, tzinfo=UTC),
        datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1),
    )
    return period, start.isoformat(), end.isoformat()


def _figures(session: Session, runtime: Runtime, since: str, until: str, now: datetime) -> tuple[dict[str, Any], str, str]:
    try:
        period, start, end = _period(since, until, now)
    except ValueError as exc:
        raise HTTPException(400, f"dates must be YYYY-MM-DD: {exc}") from exc
    return analytics.report(session, period, embedder=analytics.question_embedder(runtime)), start, end


def analytics_context(figures: dict[str, Any]) -> dict[str, Any]:
    """The charts and figures the analytics page (and `sportello report --html`) show."""
    csat = figures["csat"]
    return {
        "figures": figures,
        "reason_chart": charts.bar_chart(list(figures["handoffs"]["by_reason"].items())),
        "csat_charts": {
            who: charts.bar_chart([(f"{r} ★", n) for r, n in csat[who]["distribution"].items()])
            for who in ("bot_only", "with_person")
        },
        "sources_chart": charts.bar_chart([(s["source_id"], s["count"]) for s in figures["cited_sources"]]),
        "warnings_chart": charts.bar_chart([(w["kind"], w["count"]) for w in figures["warnings_by_kind"]]),
    }


@router.get("/analytics")
def analytics_page(
    request: Request, session: SessionDep, runtime: RuntimeDep, now: NowDep, since: str = "", until: str = ""
) -> Response:
    user = _user(request, session, now)
    if not user.may("manager"):
        return _forbidden(user, "a manager key")
    figures, start, end = _figures(session, runtime, since, until, now)
    return _page("analytics.html", user, page="analytics", since=start, until=end, **analytics_context(figures))


def standalone_analytics_html(figures: dict[str, Any]) -> str:
    """The analytics page as one file (inline CSS, no script): `sportello report --html`."""
    css = (HERE / "static" / "style.css").read_text(encoding="utf-8")
    since, until = figures["period"]["since"][:10], figures["period"]["until"][:10]
    return TEMPLATES.get_template("analytics.html").render(
        user=None, standalone=True, inline_css=css, since=since, until=until, **analytics_context(figures)
    )


def figures_csv(figures: dict[str, Any]) -> str:
    """The figures as rows of (metric, item, value): one file a spreadsheet opens as it is."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["metric", "item", "value"])
    period = figures["period"]
    writer.writerow(["period", "since", period["since"]])
    writer.writerow(["period", "until", period["until"]])
    for name in ("conversations", "contained", "contained_rate"):
        writer.writerow([name, "", figures[name]])
    writer.writerow(["handoffs", "total", figures["handoffs"]["total"]])
    for reason, count in figures["handoffs"]["by_reason"].items():
        writer.writerow(["handoffs_by_reason", reason, count])
    for key, value in figures["first_response_seconds"].items():
        writer.writerow(["first_response_seconds", key, value])
    for who, stats in figures["csat"].items():
        writer.writerow([f"csat_{who}", "count", stats["count"]])
        writer.writerow([f"csat_{who}", "mean", stats["mean"]])
        for rating, count in stats["distribution"].items():
            writer.writerow([f"csat_{who}", f"rating_{rating}", count])
    for key, value in figures["repeat_contact"].items():
        writer.writerow(["repeat_contact", key, value])
    writer.writerow(["unanswered", "messages", figures["unanswered"]["messages"]])
    for cluster in figures["unanswered"]["clusters"]:
        writer.writerow(["unanswered_cluster", " | ".join(cluster["examples"]), cluster["count"]])
    for item in figures["cited_sources"]:
        writer.writerow(["cited_sources", item["source_id"], item["count"]])
    for item in figures["warnings_by_kind"]:
        writer.writerow(["warnings_by_kind", item["kind"], item["count"]])
    return out.getvalue()


@router.get("/analytics.csv")
def analytics_csv(
    request: Request, session: SessionDep, runtime: RuntimeDep, now: NowDep, since: str = "", until: str = ""
) -> Response:
    user = _user(request, session, now)
    if not user.may("manager"):
        return _forbidden(user, "a manager key")
    figures, start, end = _figures(session, runtime, since, until, now)
    return Response(
        figures_csv(figures),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="sportello-analytics-{start}-{end}.csv"'},
    )
