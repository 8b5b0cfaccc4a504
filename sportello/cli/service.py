"""`sportello serve` and `sportello keys create|list|revoke`: the service commands.

Key commands work on the database directly (the same one the server uses), so the first admin
or channel key can be made before the server ever runs. The database layer (SQLAlchemy, alembic)
is imported inside each command (see `sportello.cli`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from sportello.cli.output import fail, parse_now
from sportello.settings import Settings

if TYPE_CHECKING:
    from api import Database

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
secrets_app = typer.Typer(
    help="Keys of the secrets stored encrypted (SPORTELLO_SECRET_KEY): make one, rotate to it.",
    no_args_is_help=True,
)
retention_app = typer.Typer(
    help="Erase conversations older than SPORTELLO_RETENTION_DAYS, audit rows older than SPORTELLO_AUDIT_RETENTION_DAYS.",
    no_args_is_help=True,
)


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes (rate limits are per process)")] = 1,
) -> None:
    """Run the HTTP service (OpenAPI docs at /docs). Configuration comes from SPORTELLO_* variables."""
    import uvicorn

    from api import SecretBox, SecretKeyError, server_options

    settings = Settings.from_env()
    try:  # a malformed SPORTELLO_SECRET_KEY says so here, not in a traceback from every worker
        SecretBox.from_settings(settings)
    except SecretKeyError as exc:
        raise fail(str(exc)) from exc
    uvicorn.run(
        "api.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,  # api.logs configures logging in each worker
        proxy_headers=True,
        **server_options(settings),
    )



def _database() -> Database:
    from api import Database, SecretBox

    settings = Settings.from_env()
    db = Database(settings.effective_database_url, secrets=SecretBox.from_settings(settings))
    db.migrate()
    return db


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="channel, operator, content, manager, web or admin")],
    name: Annotated[str, typer.Option(help="what the key is for, e.g. whatsapp-prod")] = "",
    channel: Annotated[
        str | None, typer.Option(help="channel keys: reach only this channel's conversations (e.g. telegram)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Create a key and print its secret (shown only now)."""
    from api import CLI_ACTOR, ROLES, create_key, scope_key_to_channel

    if role not in ROLES:
        raise typer.BadParameter(
            f"unknown role {role!r}; expected one of {', '.join(ROLES)}", param_hint="--role"
        )
    if channel is not None and role != "channel":
        raise typer.BadParameter("only channel keys have a channel", param_hint="--channel")
    db = _database()
    try:
        with db.session() as session:
            issued = create_key(
                session, role=role, name=name or role, now=datetime.now(UTC), actor=CLI_ACTOR, channel=channel
            )
            if channel is not None:
                scope_key_to_channel(session, issued.id, channel)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps({"id": issued.id, "key": issued.key, "role": issued.role, "name": issued.name,
                               "channel": channel}))
    else:
        scope = f"\nchannel: {channel}" if channel else ""
        typer.echo(f"id:   {issued.id}\nrole: {issued.role}\nname: {issued.name}{scope}\nkey:  {issued.key}")
        typer.echo("Store the key now: it cannot be shown again.", err=True)


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """List active keys (never their secrets)."""
    from api import list_keys

    db = _database()
    try:
        with db.session() as session:
            rows = [
                {"id": k.id, "role": k.role, "name": k.name, "created_at": k.created_at.isoformat()}
                for k in list_keys(session)
            ]
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        typer.echo(f"{row['id']}\t{row['role']}\t{row['name']}\t{row['created_at']}")


@retention_app.command("run")
def retention_run(
    now: Annotated[str | None, typer.Option(help="the clock, ISO date/time (default: now)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Erase every conversation whose last activity is older than SPORTELLO_RETENTION_DAYS, and
    delete audit rows older than SPORTELLO_AUDIT_RETENTION_DAYS (run it daily; either may be unset)."""
    from api import erase_expired, prune_audit_log

    settings = Settings.from_env()
    if settings.retention_days is None and settings.audit_retention_days is None:
        raise fail(
            "neither SPORTELLO_RETENTION_DAYS nor SPORTELLO_AUDIT_RETENTION_DAYS is set: nothing is old "
            "enough to erase (set them, e.g. 365)"
        )
    for name, days in (("SPORTELLO_RETENTION_DAYS", settings.retention_days),
                       ("SPORTELLO_AUDIT_RETENTION_DAYS", settings.audit_retention_days)):
        if days is not None and days <= 0:
            raise fail(f"{name}={days:g}: expected a number of days above 0")
    clock = parse_now(now)
    erased: list[str] = []
    pruned = 0
    db = _database()
    try:
        with db.session() as session:
            if settings.retention_days is not None:
                erased = erase_expired(session, retention_days=settings.retention_days, now=clock)
            # After the erasure, so its own audit rows are there (they are new: never pruned now).
            if settings.audit_retention_days is not None:
                pruned = prune_audit_log(session, retention_days=settings.audit_retention_days, now=clock)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps({
            "retention_days": settings.retention_days,
            "erased": erased,
            "erased_count": len(erased),
            "audit_retention_days": settings.audit_retention_days,
            "audit_pruned": pruned,
        }))
        return
    if settings.retention_days is not None:
        typer.echo(f"erased {len(erased)} conversation(s) older than {settings.retention_days:g} days")
    if settings.audit_retention_days is not None:
        typer.echo(f"deleted {pruned} audit row(s) older than {settings.audit_retention_days:g} days")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key's id (key_...), not its secret")],
) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    from api import CLI_ACTOR, UnknownKey, revoke_key

    db = _database()
    try:
        with db.session() as session:
            revoke_key(session, key_id, now=datetime.now(UTC), actor=CLI_ACTOR)
    except UnknownKey as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    typer.echo(f"revoked {key_id}")


@secrets_app.command("new-key")
def secrets_new_key() -> None:
    """Print a new Fernet key for SPORTELLO_SECRET_KEY (to rotate: put it first, the old one after)."""
    from api import new_key

    typer.echo(new_key())


@secrets_app.command("rotate")
def secrets_rotate(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Re-encrypt every stored secret with the first key of SPORTELLO_SECRET_KEY; then the other
    keys can be dropped from it."""
    from api import SecretKeyError, reseal_secrets

    db = _database()
    try:
        with db.session() as session:
            rewritten = reseal_secrets(session, db.secret_box())
    except SecretKeyError as exc:
        raise fail(str(exc)) from exc
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps({"rewritten": rewritten}))
    else:
        typer.echo(f"re-encrypted {rewritten} secret(s) with the first key of SPORTELLO_SECRET_KEY")
