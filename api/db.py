"""The database: engine, sessions and schema migrations run at start-up.

SQLite (a file in the data dir) by default; PostgreSQL with
SPORTELLO_DATABASE_URL=postgresql+psycopg://user@host/db. Migrations live inside the package
(api/migrations) so they run from an installed wheel, not only from a checkout.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, cast

import sqlalchemy.exc
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import CursorResult, Engine, Result, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from api.secretbox import SecretBox, SecretKeyError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    # hide_parameters: a failed statement's error (and so its logged traceback) must not carry
    # the bound values, which are customers' messages and ids.
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        _serialize_transactions(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, hide_parameters=True)


DatabaseFault = Literal["full", "unavailable"]

# SQLite's OperationalError also covers SQL errors ("no such table"): only these result codes say
# the database itself is out of reach or out of space (https://www.sqlite.org/rescode.html).
_SQLITE_UNAVAILABLE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_PROTOCOL")
_SQLITE_FULL = "SQLITE_FULL"
_PG_DISK_FULL = "53100"  # SQLSTATE disk_full (PostgreSQL, Appendix A)


def database_fault(exc: BaseException) -> DatabaseFault | None:
    """What a failed statement says about the database rather than about the statement: `full`
    (no space to write), `unavailable` (unreachable, restarting, its connection lost or busy), or
    None (anything else, a bug). A request that meets a fault can be retried later as it was."""
    if not isinstance(exc, sqlalchemy.exc.DBAPIError):
        return None
    orig = exc.orig
    sqlite_code = getattr(orig, "sqlite_errorname", None)
    if isinstance(sqlite_code, str):
        if sqlite_code == _SQLITE_FULL:
            return "full"
        return "unavailable" if sqlite_code.startswith(_SQLITE_UNAVAILABLE) else None
    if getattr(orig, "sqlstate", None) == _PG_DISK_FULL:
        return "full"
    # PEP 249: OperationalError is about the database's operation (connection lost, server shut
    # down, out of resources), not the programmer's SQL; InterfaceError a closed connection.
    if exc.connection_invalidated or isinstance(
        exc, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)
    ):
        return "unavailable"
    return None


def rows_affected(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed: what a conditional claim checks. (Session.execute
    is typed as returning a Result; for DML it is a CursorResult, which has the count.)"""
    return int(cast(CursorResult[Any], result).rowcount or 0)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the webhook worker read while a request writes; busy_timeout makes concurrent
    # writers wait instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _serialize_transactions(engine: Engine) -> None:
    """One transaction at a time per process on SQLite.

    SQLite has a single writer; concurrent writers otherwise wait in its busy handler, which
    sleeps in growing steps (up to 100 ms) and makes latency tails long. Queueing on a Python lock
    hands the database over as soon as it is free. Transactions here are short (the agent runs
    outside them), and the wait is bounded: after `timeout` SQLite's own locking takes over.

    Only writing transactions queue (the lock is taken at the first INSERT, UPDATE or DELETE): in
    WAL mode readers block nobody, and a read transaction left open while its request waits for a
    worker thread must not hold up every writer (under a flood of requests that was a deadlock
    until the pool timed out: threads waiting on the lock, the lock's holder waiting for a thread).
    """
    lock = threading.Lock()
    timeout = 30.0

    @event.listens_for(engine, "before_cursor_execute")
    def _take(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if connection.info.get("holds_sqlite_lock") is not None or not _writes(statement):
            return
        taken = lock.acquire(timeout=timeout)
        if not taken:  # a transaction left open somewhere; fall back to SQLite's locking
            log.warning("sqlite_lock_timeout", extra={"seconds": timeout})
        connection.info["holds_sqlite_lock"] = taken

    def _give(connection: Any) -> None:
        if connection.info.pop("holds_sqlite_lock", False):
            lock.release()

    event.listen(engine, "commit", _give)
    event.listen(engine, "rollback", _give)


_WRITES = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "ALTER", "DROP"})


def _writes(statement: str) -> bool:
    words = statement.lstrip().split(None, 1)
    return bool(words) and words[0].upper() in _WRITES


def alembic_config(engine: Engine, secrets: SecretBox | None = None) -> Config:
    """`secrets`: what a migration that encrypts stored values encrypts with (0015)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    config.attributes["secrets"] = secrets
    return config


def migrate(engine: Engine, secrets: SecretBox | None = None) -> None:
    """Bring the schema to the newest revision; safe to call on every start."""
    # Alembic narrates every start ("Context impl SQLiteImpl"); one line of ours is enough.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    command.upgrade(alembic_config(engine, secrets), "head")
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    log.info("database_migrated", extra={"dialect": engine.dialect.name, "revision": revision})


class Database:
    """The engine, a session factory and the keys of the secrets stored in it; one per app."""

    def __init__(self, url: str, *, secrets: SecretBox | None = None) -> None:
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.secrets = secrets

    def migrate(self) -> None:
        migrate(self.engine, self.secrets)

    def secret_box(self) -> SecretBox:
        if self.secrets is None:
            raise SecretKeyError("this database was opened without secret keys; pass Database(url, secrets=...)")
        return self.secrets

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
