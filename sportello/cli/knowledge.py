"""`sportello sync`, `search`, `sources` and `doctor`: the knowledge commands.

Project packages are imported inside each command (see `sportello.cli`): `sources` reads the
catalog without loading Chroma or the embedding model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast, get_args

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from sportello.cli.output import JsonOption, console, fail, out, parse_now, print_json
from sportello.errors import SportelloError
from sportello.settings import RetrievalMode, Settings

if TYPE_CHECKING:
    from knowledge import Manifest
    from knowledge.index import KnowledgeBase


def load_manifest_or_exit(path: Path) -> Manifest:
    from knowledge.sources import load_manifest

    try:
        return load_manifest(path)
    except SportelloError as exc:
        raise fail(str(exc)) from exc


def manifest_from_settings(settings: Settings, given: Path | None = None) -> Manifest:
    """MANIFEST if given, else SPORTELLO_MANIFEST, else the manifest the last sync of the data dir read."""
    from knowledge.index import Catalog

    path = given or settings.manifest
    if path is None:
        recorded = Catalog(settings.data_dir).meta("manifest_path")
        path = Path(recorded) if recorded else None
    if path is None:
        raise fail(
            f"no manifest: pass MANIFEST, set SPORTELLO_MANIFEST, or run `sportello sync MANIFEST` first"
            f" (nothing synced in {settings.data_dir})"
        )
    return load_manifest_or_exit(path)


def sync(
    manifest_path: Annotated[Path, typer.Argument(metavar="MANIFEST", help="The sources.yaml to index.")],
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="Sync only these source ids.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Read every source in MANIFEST and update the index (only changed content is re-embedded).

    Exits 1 when the sync is partial (some pages failed and kept their previous version; they are
    listed), 2 when a source cannot be read at all (the previous index is left untouched)."""
    from knowledge.index import embedder_from_settings
    from knowledge.sources import load_manifest
    from knowledge.sync import sync_manifest

    settings = Settings.from_env()
    try:
        manifest = load_manifest(manifest_path)
    except SportelloError as exc:
        raise fail(f"{exc}\nThe previous index was left untouched.") from exc
    with Progress(
        TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, disable=as_json or not console.is_terminal, transient=False,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def on_progress(source_id: str, stage: str, done: int, total: int | None) -> None:
            label = source_id if stage == "read" else stage
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total)
            progress.update(tasks[label], completed=done, total=total)

        try:
            report = sync_manifest(
                manifest, data_dir=settings.data_dir, chroma_url=settings.chroma_url,
                embedder=embedder_from_settings(settings), on_progress=on_progress, only=source or None,
            )
        except SportelloError as exc:
            raise fail(f"{exc}\nThe previous index was left untouched.") from exc
    if report.index_changed:
        _publish(settings)
    if as_json:
        print_json(report.to_dict())
        _exit_if_partial(report.status)
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
    _exit_if_partial(report.status)


def _publish(settings: Settings) -> None:
    """Tell running workers a new index is live: they reload it within a second (README,
    "Running in production"). Without the service's database they serve it after a restart."""
    from datetime import UTC, datetime

    from api import Database, publish_new_index

    db = Database(settings.effective_database_url)
    try:
        db.migrate()
        publish_new_index(db, now=datetime.now(UTC))
    except Exception as exc:  # the index is published in the data dir either way
        console.print(
            f"[yellow]could not record the new index generation in the database[/] ({type(exc).__name__}):"
            " running workers serve the new index after a restart"
        )
    finally:
        db.dispose()


def _exit_if_partial(status: str) -> None:
    # 1, not 0: a script must notice that pages were left at their previous version.
    if status == "partial":
        console.print("[yellow]partial sync[/]: some pages failed and kept their previous version (listed above)")
        raise typer.Exit(1)


def open_knowledge(settings: Settings) -> KnowledgeBase:
    from knowledge.index import KnowledgeBase, embedder_from_settings

    try:
        embedder = embedder_from_settings(settings)
        return KnowledgeBase.open(settings.data_dir, chroma_url=settings.chroma_url, embedder=embedder)
    except SportelloError as exc:
        raise fail(str(exc)) from exc


def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many passages.")] = 5,
    mode: Annotated[str | None, typer.Option(help="dense, hybrid or bm25 (default: SPORTELLO_RETRIEVAL_MODE).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Search the index: passages with score, source, url, title and dates."""
    settings = Settings.from_env()
    chosen = mode or settings.retrieval_mode
    if chosen not in get_args(RetrievalMode):
        raise fail(f"unknown mode {chosen!r}: use dense, hybrid or bm25")
    kb = open_knowledge(settings)
    passages = kb.search(query, k=k, mode=cast(RetrievalMode, chosen))
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


def doctor(
    manifest_path: Annotated[Path | None, typer.Argument(metavar="[MANIFEST]", help="Defaults to $SPORTELLO_MANIFEST, else the last synced one.")] = None,
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
    except SportelloError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        print_json(report.to_dict())
    else:
        typer.echo(report.render_text())
    if strict and report.issues:
        raise typer.Exit(1)
