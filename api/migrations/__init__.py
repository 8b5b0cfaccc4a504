"""Alembic migrations for the service database, run by `api.db.migrate` at start-up."""
