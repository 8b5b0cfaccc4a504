"""FastAPI dependencies: the runtime, a database session, the clock, and the calling key
(authenticated, rate limited, and checked against the roles a route allows).

The ones that do no I/O are `async def`: FastAPI runs a plain `def` dependency in a worker thread,
one thread hop each (about 0.1 ms of CPU, and a wait for a free thread under load); those that
read the database or Redis stay `def`, so they never block the event loop."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api import audit
from api.errors import AuthenticationFailed, Forbidden, RateLimited
from api.keys import Principal, authenticate, hash_secret
from api.ratelimit import first_refusal
from api.runtime import Runtime
from api.sources import SyncWorker


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_sync_worker(request: Request) -> SyncWorker:
    return request.app.state.sync_worker


def get_session(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Iterator[Session]:
    with runtime.db.session() as session:
        yield session


async def get_now() -> datetime:
    return datetime.now(UTC)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def get_principal(
    request: Request,
    runtime: Annotated[Runtime, Depends(get_runtime)],
    session: Annotated[Session, Depends(get_session)],
) -> Principal:
    """The calling key, after the limits that need no database: an address that keeps sending
    unknown keys, and a key over its rate, are refused before the lookup."""
    now = time.monotonic()
    address = request.client.host if request.client else "unknown"
    secret = _bearer(request)
    if secret is None:
        refused = runtime.auth_failures.exhausted(address, now)
        if refused is not None:
            raise RateLimited(refused, "this address (too many unknown keys)")
    else:
        refusal = first_refusal(runtime.auth_failures, address, runtime.limiter, hash_secret(secret), now)
        if refusal is not None and refusal[0] == 0:
            raise RateLimited(refusal[1], "this address (too many unknown keys)")
        if refusal is not None:
            raise RateLimited(refusal[1])
    try:
        principal = authenticate(session, secret, admin_key=runtime.settings.admin_key)
    except AuthenticationFailed:
        runtime.auth_failures.acquire(address, now)
        raise
    # End the lookup's read transaction here: the route runs in another worker thread, and a
    # connection must not stay checked out while the request waits for one.
    session.rollback()
    request.state.key_id = principal.key_id  # for the access log; never the secret
    return principal


def require(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits `roles` (admin is always admitted). A refused key on an audited
    route leaves an audit row with outcome `denied` (api/audit.py)."""
    allowed = ", ".join(sorted({*roles, "admin"}))

    async def check(
        request: Request,
        runtime: Annotated[Runtime, Depends(get_runtime)],
        principal: Annotated[Principal, Depends(get_principal)],
    ) -> Principal:
        if not principal.may(*roles):
            await run_in_threadpool(_audit_denied, request, runtime, principal)
            raise Forbidden(f"a {principal.role} key cannot use this route; it needs one of: {allowed}")
        return principal

    return check


def _audit_denied(request: Request, runtime: Runtime, principal: Principal) -> None:
    route = request.scope.get("route")
    action = audit.ROUTES.get((request.method, getattr(route, "path", "")))
    if action is None:
        return
    target = request.path_params.get(action.target_param) if action.target_param else None
    with runtime.db.session() as session:  # its own transaction: the action itself never ran
        audit.record(session, principal, action, target, now=datetime.now(UTC), outcome="denied")
        session.commit()


SessionDep = Annotated[Session, Depends(get_session)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SyncWorkerDep = Annotated[SyncWorker, Depends(get_sync_worker)]
NowDep = Annotated[datetime, Depends(get_now)]
ChannelKey = Annotated[Principal, Depends(require("channel"))]
OperatorKey = Annotated[Principal, Depends(require("operator"))]
ContentKey = Annotated[Principal, Depends(require("content"))]
ManagerKey = Annotated[Principal, Depends(require("manager"))]
AdminKey = Annotated[Principal, Depends(require("admin"))]
ReaderKey = Annotated[Principal, Depends(require("channel", "operator"))]
