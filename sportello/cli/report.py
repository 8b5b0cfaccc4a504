"""`sportello report`: the care analytics of a period from the service's database, as a table,
JSON or one self-contained HTML page (the same figures as GET /v1/analytics and
/console/analytics)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from sportello.cli.output import fail, print_json
from sportello.settings import Settings


def _moment(value: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"{option} {value!r} is not an ISO date or time (e.g. 2026-11-01)") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def report(
    since: Annotated[str, typer.Option("--since", help="Start, ISO date or time (inclusive).")],
    until: Annotated[str | None, typer.Option("--until", help="End, ISO date or time (exclusive; default now).")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the report as one HTML file here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Care analytics over conversations started in [--since, --until)."""
    from rich.console import Console
    from rich.table import Table

    from api import (
        AnalyticsPeriod,
        Database,
        SecretBox,
        ServiceError,
        analytics_report,
        standalone_analytics_html,
    )
    from knowledge.index import embedder_from_settings

    settings = Settings.from_env()
    start = _moment(since, "--since")
    end = _moment(until, "--until") if until else datetime.now(UTC)
    if len(until or "") == 10:  # a bare date: the whole day
        end += timedelta(days=1)
    db = Database(settings.effective_database_url, secrets=SecretBox.from_settings(settings))
    try:
        db.migrate()
        with db.session() as session:
            try:
                embedder = embedder_from_settings(settings)
            except Exception:  # grouping questions is a bonus: the figures stand without it
                embedder = None
            figures = analytics_report(session, AnalyticsPeriod(start, end), embedder=embedder)
    except ServiceError as exc:
        raise fail(str(exc)) from exc
    finally:
        db.dispose()
    if html is not None:
        html.write_text(standalone_analytics_html(figures), encoding="utf-8")
    if as_json:
        print_json(figures)
        return
    table = Table(title=f"Care analytics {figures['period']['since'][:10]} – {figures['period']['until'][:10]}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rate = figures["contained_rate"]
    rows = [
        ("conversations", figures["conversations"]),
        ("contained rate", "—" if rate is None else f"{rate:.0%}"),
        ("handoffs", figures["handoffs"]["total"]),
        *((f"  {reason}", count) for reason, count in figures["handoffs"]["by_reason"].items()),
        ("first response p50 (s)", figures["first_response_seconds"]["p50"]),
        ("first response p90 (s)", figures["first_response_seconds"]["p90"]),
        ("CSAT mean (count)", f"{figures['csat']['all']['mean']} ({figures['csat']['all']['count']})"),
        ("repeat contact in 72 h", f"{figures['repeat_contact']['repeated']} of {figures['repeat_contact']['resolved']}"),
        ("unanswered questions", figures["unanswered"]["messages"]),
    ]
    for name, value in rows:
        table.add_row(name, "—" if value is None else str(value))
    Console().print(table)
    if html is not None:
        Console().print(f"wrote {html}")
