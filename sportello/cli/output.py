"""What every command shares: where messages go, how a failure exits, JSON on stdout, the clock."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console

# Messages and progress on stderr, data on stdout: `sportello sources --json | jq` stays clean.
console = Console(stderr=True, soft_wrap=True)
out = Console()

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Say what to fix and exit: 2 bad input, 1 the command ran and found problems."""
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")


def parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"--now {value!r} is not an ISO date/time such as 2026-11-25T10:00:00+01:00") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
