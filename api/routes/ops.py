"""Liveness, readiness and Prometheus metrics (unauthenticated: keep them off the public edge)."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.channels import CHANNELS
from api.deps import RuntimeDep
from api.disk import check_free_space, written_paths
from api.errors import AuthenticationFailed
from api.metrics import CONTENT_TYPE
from api.problems import PROBLEM_JSON, problem
from api.runtime import Runtime
from api.schemas import Problem
from knowledge import IndexUnavailable
from knowledge.index import Catalog, ChunkIndex, chroma_client

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        200: {"description": "ready, or degraded: only the Chroma server fails and turns are answered lexical-only"},
        503: {
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            "description": "not ready: warming up, no index yet, database or manifest failing, disk "
            "nearly full (see checks)",
        },
    },
)
def readyz(runtime: RuntimeDep) -> JSONResponse:
    """The start-up warm-up has finished (SPORTELLO_WARMUP), the database answers, the knowledge
    index is built and reachable, the brand's manifest reads and validates (a bad setting there
    would otherwise fail turns one by one), and every configured messaging channel has all its
    credentials, SPORTELLO_SECRET_KEY opens the stored webhook secrets, and the data dir (and the
    SQLite file's folder) has at least SPORTELLO_MIN_FREE_BYTES free (`disk`: writes would soon
    fail with 507).

    With a Chroma server (SPORTELLO_CHROMA_URL) its own check, `chroma`, says whether it answers.
    When it alone fails the answer is 200 with status `degraded`: turns are still answered, from
    the lexical index (or this worker's copy of the vectors), and taking every worker out of the
    load balancer because of one shared dependency would answer none."""
    checks: dict[str, str] = {"warmup": "ok" if runtime.warm.is_set() else "warming"} if runtime.settings.warmup else {}
    checks |= {
        "database": _check(runtime.db.ping),
        "index": _check(lambda: _index_ready(runtime)),
        "manifest": _check(runtime.check_manifest),
    }
    if runtime.settings.min_free_bytes > 0:
        checks["disk"] = _check(
            lambda: check_free_space(written_paths(runtime.settings), runtime.settings.min_free_bytes)
        )
    if runtime.settings.chroma_url:
        checks["chroma"] = _chroma_check(runtime)
    if runtime.stores_secrets():  # like channels: reported once there is something to open
        checks["secrets"] = _check(runtime.check_secrets)
    for channel in CHANNELS:  # a channel set up halfway would take messages it cannot answer
        if channel.configured(runtime.settings):
            missing = channel.missing(runtime.settings)
            checks[f"channel.{channel.name}"] = f"missing {', '.join(missing)}" if missing else "ok"
    failing = {name: state for name, state in checks.items() if state != "ok"}
    if not failing:
        return JSONResponse({"status": "ready", "checks": checks})
    if failing.keys() <= DEGRADABLE:
        return JSONResponse({"status": "degraded", "checks": checks})
    detail = ", ".join(f"{name}: {state}" for name, state in failing.items())
    return problem(
        503, f"not ready ({detail})", title="Not ready", slug="not-ready", instance="/readyz", checks=checks
    )


# Checks whose failure leaves turns answered (status `degraded`, 200), not a worker to take out.
DEGRADABLE = frozenset({"chroma"})


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus metrics; with SPORTELLO_METRICS_KEY set, scrapers send it as a bearer token."""
    expected = runtime.settings.metrics_key
    if expected:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            raise AuthenticationFailed("/metrics needs 'Authorization: Bearer <SPORTELLO_METRICS_KEY>'")
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE)


def _check(probe: Callable[[], object]) -> str:
    try:
        probe()
    except Exception as exc:  # readiness reports, it does not crash
        return f"{type(exc).__name__}: {exc}"[:300]
    return "ok"


def _index_ready(runtime: Runtime) -> None:
    """A sync has built an index; an embedded one is also readable (a Chroma server has its own
    check: without it turns still have the catalog's lexical index)."""
    # An embedded index loaded once stays readable.
    if runtime.knowledge_loaded and runtime.settings.chroma_url is None:
        return
    # Cheap: is there an active collection, and does Chroma answer? (no embedding model load)
    name = Catalog(runtime.settings.data_dir).meta("active_collection")
    if name is None:
        raise IndexUnavailable("no index yet: run `sportello sync MANIFEST`")
    if runtime.settings.chroma_url is None:
        chroma_client(runtime.settings.data_dir).get_collection(name)


def _chroma_check(runtime: Runtime) -> str:
    """`ok` when the Chroma server answers and holds the live collection; else what fails and how
    this worker answers meanwhile."""
    url = runtime.settings.chroma_url
    try:
        client = chroma_client(runtime.settings.data_dir, url)
        name = Catalog(runtime.settings.data_dir).meta("active_collection")
        if name is None:
            client.heartbeat()
        else:
            ChunkIndex(client, name, create=False)
    except Exception as exc:  # readiness reports, it does not crash
        kb = runtime.knowledge_base() if runtime.knowledge_loaded else None
        fallback = (
            "this worker searches its in-memory copy of the vectors"
            if kb is not None and kb.vectors_in_memory
            else "turns are answered from the lexical index"
        )
        return f"unreachable at {url} ({exc}); {fallback}"[:300]
    return "ok"
