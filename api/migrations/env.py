"""Alembic environment: the engine comes from `api.db.alembic_config`, never from an ini file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from api.models import Base

# A fixed key for pg_advisory_lock: two workers starting together migrate one at a time.
_MIGRATION_LOCK = 725_011_204


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
                connection.commit()


if context.is_offline_mode():
    raise SystemExit(
        "offline (SQL script) migrations are not supported; run `sportello serve` or api.db.migrate"
    )
run_migrations_online()
