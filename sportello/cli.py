"""The `sportello` command. Every command that prints data also has `--json` for scripts.

Exit codes: 0 ok, 1 the command ran and found problems (e.g. `doctor --strict`), 2 bad input
(invalid manifest, unreadable source, unreachable URL) — with a message that says what to fix.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from knowledge.errors import KnowledgeError
from knowledge.manifest import Manifest
from knowledge.sources import load_manifest
from sportello.settings import Settings

app = typer.Typer(help="Sportello: grounded, cited answers for a brand's customers.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)
out = Console()

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs on stderr.")] = False) -> None:
    settings = Settings.from_env()
    level = logging.DEBUG if verbose else getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Library chatter (HTTP requests per page, Chroma internals) drowns the progress bars.
    for noisy in ("httpx", "chromadb", "trafilatura", "urllib3", "htmldate", "courlan", "usp", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n")


def load_manifest_or_exit(path: Path) -> Manifest:
    try:
        return load_manifest(path)
    except KnowledgeError as exc:
        raise fail(str(exc)) from exc


def manifest_from_settings(settings: Settings, given: Path | None = None) -> Manifest:
    path = given or settings.manifest
    if path is None:
        raise fail("no manifest: pass MANIFEST or set SPORTELLO_MANIFEST to your sources.yaml")
    return load_manifest_or_exit(path)


@app.command()
def sync(
    manifest_path: Annotated[Path, typer.Argument(metavar="MANIFEST", help="The sources.yaml to index.")],
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Sync only these source ids.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Read every source in MANIFEST and update the index (only changed content is re-embedded)."""
    from knowledge.sync import sync_manifest

    settings = Settings.from_env()
    try:
        manifest = load_manifest(manifest_path)
    except KnowledgeError as exc:
        raise fail(f"{exc}\nThe previous index was left untouched.") from exc
    with Progress(
        TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, disable=as_json or not console.is_terminal, transient=False,
    ) as progress:
        tasks: dict[str, int] = {}

        def on_progress(source_id: str, stage: str, done: int, total: int | None) -> None:
            label = source_id if stage == "read" else stage
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total)
            progress.update(tasks[label], completed=done, total=total)

        try:
            report = sync_manifest(
                manifest, data_dir=settings.data_dir, chroma_url=settings.chroma_url,
                embedder=_embedder(settings), on_progress=on_progress, only=source or None,
            )
        except KnowledgeError as exc:
            raise fail(f"{exc}\nThe previous index was left untouched.") from exc
    if as_json:
        print_json(report.to_dict())
        return
    table = Table(title=f"{report.brand}: sync in {report.seconds:.1f}s")
    for column in ("source", "type", "added", "updated", "unchanged", "removed", "failed", "skipped"):
        table.add_column(column, justify="left" if column in ("source", "type") else "right")
    for s in report.sources:
        table.add_row(s.id, s.type, *(str(getattr(s, k)) for k in
                                      ("added", "updated", "unchanged", "removed", "failed", "skipped")))
    out.print(table)
    out.print(f"{report.chunks_total} chunks in the index, {report.chunks_embedded} embedded this run.")
    for s in report.sources:
        for problem in s.problems[:10]:
            out.print(f"[yellow]{s.id}[/]: {problem}")


def _embedder(settings: Settings):  # noqa: ANN202 - returns knowledge.embedding.Embedder
    from knowledge.index import embedder_from_settings

    return embedder_from_settings(settings)


def open_knowledge(settings: Settings):  # noqa: ANN201
    from knowledge.index import KnowledgeBase

    try:
        return KnowledgeBase.open(settings.data_dir, chroma_url=settings.chroma_url, embedder=_embedder(settings))
    except KnowledgeError as exc:
        raise fail(str(exc)) from exc


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many passages.")] = 5,
    mode: Annotated[str | None, typer.Option(help="dense, hybrid or bm25 (default: SPORTELLO_RETRIEVAL_MODE).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Search the index: passages with score, source, url, title and dates."""
    settings = Settings.from_env()
    mode = mode or settings.retrieval_mode
    if mode not in ("hybrid", "dense", "bm25"):
        raise fail(f"unknown mode {mode!r}: use dense, hybrid or bm25")
    kb = open_knowledge(settings)
    passages = kb.search(query, k=k, mode=mode)  # type: ignore[arg-type]
    if as_json:
        print_json([p.to_dict() for p in passages])
        return
    table = Table(show_lines=True)
    for column in ("#", "score", "source", "title / url", "updated_at", "text"):
        table.add_column(column)
    for rank, p in enumerate(passages, 1):
        updated = p.updated_at.date().isoformat() if p.updated_at else "unknown"
        table.add_row(str(rank), f"{p.score:.3f}", p.source_id, f"{p.title}\n{p.url or ''}",
                      f"{updated}\n({p.updated_at_evidence})", p.text[:300])
    out.print(table)


@app.command()
def sources(as_json: JsonOption = False) -> None:
    """Each source with its last sync, document count and errors."""
    from knowledge.index import Catalog

    statuses = Catalog(Settings.from_env().data_dir).sources()
    if as_json:
        print_json([s.to_dict() for s in statuses])
        return
    if not statuses:
        out.print("No source synced yet: run `sportello sync MANIFEST`.")
        return
    table = Table()
    for column in ("source", "type", "last sync", "status", "documents", "errors"):
        table.add_column(column)
    for s in statuses:
        table.add_row(s.id, s.type, s.last_sync or "never", s.last_status or "", str(s.documents),
                      "\n".join(s.errors[:5]) + (f"\n… {len(s.errors) - 5} more" if len(s.errors) > 5 else ""))
    out.print(table)


def now_utc() -> datetime:
    return datetime.now(UTC)


def parse_now(value: str | None) -> datetime:
    if value is None:
        return now_utc()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"--now {value!r} is not an ISO date/time such as 2026-11-25T10:00:00+01:00") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command()
def doctor(
    manifest_path: Annotated[Path | None, typer.Argument(metavar="[MANIFEST]", help="Defaults to $SPORTELLO_MANIFEST.")] = None,
    as_json: JsonOption = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when any issue is found.")] = False,
    now: Annotated[str | None, typer.Option("--now", help="Judge freshness at this ISO time (default: now).")] = None,
) -> None:
    """Knowledge health: every stale, expired and conflicting fact, with the winner and a fix."""
    from knowledge.sync import health_report

    settings = Settings.from_env()
    manifest = manifest_from_settings(settings, manifest_path)
    try:
        report = health_report(manifest, settings.data_dir, now=parse_now(now))
    except KnowledgeError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        print_json(report.to_dict())
    else:
        typer.echo(report.render_text())
    if strict and report.issues:
        raise typer.Exit(1)


def _mount_subcommands() -> None:
    """The service (api/) and the evals (evals/) bring their own commands; the CLI only mounts them."""
    from api.commands import keys_app
    from api.commands import serve as serve_command
    from evals.commands import eval_app

    app.command(name="serve")(serve_command)
    app.add_typer(keys_app, name="keys")
    app.add_typer(eval_app, name="eval")


_mount_subcommands()
