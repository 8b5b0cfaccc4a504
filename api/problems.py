"""Every error leaves the service as application/problem+json (RFC 9457: type, title, status,
detail, instance), whatever raised it: a domain exception, a validation error, a knowledge error
or Starlette itself (unknown route, wrong method)."""

from __future__ import annotations

import logging
import math
import re
from http import HTTPStatus
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api import errors
from api.db import database_fault
from api.schemas import PATTERN_HINTS
from knowledge import (
    IndexUnavailable,
    KnowledgeError,
    ManifestError,
    SourceFormatError,
    SourceUnreachable,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# Seconds a client is told to wait: a restarting database is back in seconds; a full disk waits
# for someone to free space.
UNAVAILABLE_RETRY_AFTER = 2
FULL_RETRY_AFTER = 30

# Most specific class first is not needed: the lookup walks the exception's MRO.
STATUS_OF: dict[type[BaseException], int] = {
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.AuthenticationFailed: 401,
    errors.Forbidden: 403,
    errors.RateLimited: 429,
    errors.NotConfigured: 503,
    errors.ServiceError: 400,
    ManifestError: 422,
    SourceFormatError: 422,
    SourceUnreachable: 502,
    IndexUnavailable: 503,
    KnowledgeError: 500,
}


def problem_type(slug: str) -> str:
    # URNs name the problem kind without pretending there is a page to fetch.
    return f"urn:sportello:problem:{slug}"


def _slug(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    slug: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": problem_type(slug) if slug else "about:blank",
        "title": title or phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def status_for(exc: BaseException) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 500


def _title(exc: BaseException) -> str:
    words = _slug(type(exc).__name__).replace("-", " ")
    return words[:1].upper() + words[1:]


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    status = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, errors.AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    if status >= 500:
        log.warning("request_failed", extra={"path": request.url.path, "error": type(exc).__name__})
    return problem(
        status,
        str(exc),
        title=_title(exc),
        slug=_slug(type(exc).__name__),
        instance=request.url.path,
        headers=headers or None,
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).description
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names only the first route that matched the path; RFC 9110 §15.5.6 wants the
        # methods the resource supports, i.e. those of every route on this path.
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem(exc.status_code, detail, instance=request.url.path, headers=headers or None)


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in _leaf_routes(request.app.router.routes):
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _leaf_routes(routes: list[Any]) -> list[Any]:
    # FastAPI keeps an included router as one entry; its routes carry the full path (the prefix
    # is given to each APIRouter, not to include_router).
    leaves: list[Any] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        leaves += _leaf_routes(list(inner.routes)) if inner is not None else [route]
    return leaves


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [{"field": field_path(e.get("loc", ())), "message": _message(e)} for e in exc.errors()]
    detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return problem(
        422,
        detail,
        title="Invalid request",
        slug="validation-error",
        instance=request.url.path,
        errors=problems,
    )


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "string_pattern_mismatch":
        hint = PATTERN_HINTS.get(str((error.get("ctx") or {}).get("pattern")))
        if hint:
            return hint
    return str(error.get("msg", "invalid"))


async def _database_busy(request: Request, exc: Exception) -> JSONResponse:
    # Every pooled connection stayed busy for the pool's whole timeout: an overload to retry, not a
    # server bug (and never a 500 with a traceback per request).
    log.warning("database_busy", extra={"path": request.url.path, "error": type(exc).__name__})
    return problem(
        503,
        "the database is busy; retry shortly",
        title="Database busy",
        slug="database-busy",
        instance=request.url.path,
        headers={"Retry-After": "1"},
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    # The database out of reach (PostgreSQL restarting, the network gone) or out of space: the
    # request was not carried out (its transaction rolled back) and may be sent again as it was. One
    # warning with the error's class and code, no traceback: the message would quote the statement.
    fault = database_fault(exc)
    if fault is None:
        return await _unexpected(request, exc)
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    event = "database_full" if fault == "full" else "database_unavailable"
    log.warning(event, extra={"path": request.url.path, "error": type(orig or exc).__name__, "code": code})
    if fault == "full":
        return problem(
            507,
            "the database has no space left to store this; nothing was stored: retry once space is freed",
            title="Database full",
            slug="database-full",
            instance=request.url.path,
            headers={"Retry-After": str(FULL_RETRY_AFTER)},
        )
    return problem(
        503,
        "the database is unavailable; nothing was stored: retry shortly",
        title="Database unavailable",
        slug="database-unavailable",
        instance=request.url.path,
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("request_crashed", extra={"path": request.url.path, "error": type(exc).__name__})
    return problem(500, "the service failed unexpectedly; the error is logged", instance=request.url.path)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(errors.ServiceError, _domain_error)
    app.add_exception_handler(KnowledgeError, _domain_error)
    app.add_exception_handler(sqlalchemy.exc.TimeoutError, _database_busy)
    app.add_exception_handler(sqlalchemy.exc.DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
