"""`sportello eval`: run a suite, measure the answers, compare with a baseline, gate a release.

    sportello eval SUITE [--url U --key K] [--json out.json] [--html out.html] [--markdown out.md]
                         [--baseline prev.json] [--fail-under METRIC=VALUE ...] [--fail-on-regression]
                         [--concurrency N] [--data-dir D] [--manifest M] [--now ISO] [--resync]
    sportello eval retrieval SUITE [--json out.json] [--data-dir D] [--manifest M] [--resync]

Exit codes: 0 ok; 1 the run completed and the gate failed (a threshold or, with
`--fail-on-regression`, a case that passed in the baseline); 2 bad input (suite, manifest,
baseline, threshold, unreachable service) with a message saying what to fix.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from sportello.errors import SportelloError
from sportello.settings import Settings

if TYPE_CHECKING:
    # Typer vendors click (as the private `typer._click`) and hands its groups that Context, not click's.
    from typer._click import Context

    from evals import CaseRun, Suite


class _RunByDefault(TyperGroup):
    """`sportello eval SUITE ...` means `sportello eval run SUITE ...`; subcommands keep their names."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(
    cls=_RunByDefault,
    no_args_is_help=True,
    help="Run an eval suite and measure the answers: `sportello eval SUITE [OPTIONS]` (short for `eval run`). "
    "`retrieval` benchmarks the search modes.",
)

SuiteArg = Annotated[Path, typer.Argument(metavar="SUITE", help="Suite file (.yaml, or .jsonl with a header).")]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Index to run on (default: <SPORTELLO_DATA_DIR>/evals/<suite name>)."),
]
ManifestOption = Annotated[
    Path | None, typer.Option("--manifest", help="Manifest to use instead of the one the suite names.")
]
ResyncOption = Annotated[bool, typer.Option("--resync", help="Sync the manifest again even if an index exists.")]


def _fail(console: Console, message: str, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@eval_app.command("run")
def run_command(
    suite_path: SuiteArg,
    url: Annotated[str | None, typer.Option("--url", help="Run against a service, e.g. http://127.0.0.1:8000.")] = None,
    key: Annotated[
        str | None, typer.Option("--key", envvar="SPORTELLO_EVAL_KEY", help="Channel key for --url.", show_default=False)
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON report ('-' for stdout).")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML report.")] = None,
    markdown_out: Annotated[Path | None, typer.Option("--markdown", help="Write a Markdown summary.")] = None,
    baseline: Annotated[Path | None, typer.Option("--baseline", help="A previous JSON report to compare with.")] = None,
    fail_under: Annotated[
        list[str] | None,
        typer.Option("--fail-under", metavar="METRIC=VALUE", help="Exit 1 if METRIC is below VALUE (repeatable)."),
    ] = None,
    fail_on_regression: Annotated[
        bool, typer.Option("--fail-on-regression", help="Exit 1 if a case that passed in --baseline now fails.")
    ] = False,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, max=64, help="Cases run at once.")] = 1,
    data_dir: DataDirOption = None,
    manifest: ManifestOption = None,
    now: Annotated[str | None, typer.Option("--now", help="Default clock (ISO 8601) for cases without `now`.")] = None,
    resync: ResyncOption = False,
) -> None:
    """Run SUITE, print the metrics, write reports, compare with a baseline and apply the gate."""
    from evals import (
        EvalError,
        GateResult,
        build_report,
        check,
        compare,
        load_report,
        load_suite,
        parse_thresholds,
        score_all,
    )

    to_stdout = json_out is not None and str(json_out) == "-"
    console = Console(stderr=True)
    out = console if to_stdout else Console()
    if fail_on_regression and baseline is None:
        raise _fail(console, "--fail-on-regression needs --baseline PREVIOUS.json")
    if key and not url:
        raise _fail(console, "--key is only used with --url")
    try:
        thresholds = parse_thresholds(fail_under)
        previous = load_report(baseline) if baseline else None
        suite = load_suite(suite_path, manifest=manifest, now=_parse_now(now))
    except EvalError as exc:
        raise _fail(console, str(exc)) from exc

    _quiet_per_turn_logs()
    runs = _run(suite, console, url=url, key=key, concurrency=concurrency, data_dir=data_dir, resync=resync)
    if not runs:
        raise typer.Exit(2)  # _run already said why
    target, case_runs = runs
    results = score_all(case_runs)
    notes = []
    if url:
        timed = sum(1 for case in suite.cases if case.now or suite.now)
        if timed:
            notes.append(
                f"{timed} cases set a clock (`now`) that a service cannot honour: it answered on its own clock."
            )
    report = build_report(suite, results, run_at=datetime.now(UTC), target=target, notes=notes)

    comparison = compare(report, previous) if previous else None
    if comparison is not None:
        report["baseline"] = {"file": str(baseline), **comparison.to_dict()}
    gate = check(report["metrics"], thresholds)
    if comparison is not None and fail_on_regression and comparison.regressed:
        regression = (
            f"{len(comparison.newly_failing)} case(s) passed in the baseline and fail now: "
            + ", ".join(comparison.newly_failing)
        )
        gate = GateResult(gate.thresholds, [*gate.failures, regression])
    if thresholds or fail_on_regression:
        report["gate"] = gate.to_dict()

    _write_outputs(report, console, json_out=json_out, html_out=html_out, markdown_out=markdown_out)
    _print_summary(out, report)
    errored = report["metrics"]["errors"]
    if errored == len(results):
        first = next(r.run.error for r in results if r.run.error)
        raise _fail(console, f"every case failed to run; first error: {first}")
    if not gate.passed:
        raise _fail(console, "gate failed: " + "; ".join(gate.failures), code=1)


def _quiet_per_turn_logs() -> None:
    """The report holds every reply; one log line per turn would bury the progress bar and the
    tables.  `sportello -v eval ...` (root logger at DEBUG) keeps them."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for name in ("agent", "knowledge", "bm25s"):
            logging.getLogger(name).setLevel(logging.WARNING)


def _parse_now(value: str | None) -> datetime | None:
    from evals import EvalError

    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise EvalError(f"--now {value!r}: not an ISO 8601 date-time, e.g. 2026-11-25T10:00:00+01:00") from exc


def _run(
    suite: Suite,
    console: Console,
    *,
    url: str | None,
    key: str | None,
    concurrency: int,
    data_dir: Path | None,
    resync: bool,
) -> tuple[dict[str, Any], list[CaseRun]] | None:
    from evals import HttpTarget, Runner, in_process_target

    with Progress(
        TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, disable=not console.is_terminal, transient=True,
    ) as progress:
        if url:
            target: Any = HttpTarget(url, key)
        else:
            tasks: dict[str, Any] = {}

            def on_sync(source_id: str, stage: str, done: int, total: int | None) -> None:
                label = f"sync {source_id if stage == 'read' else stage}"
                if label not in tasks:
                    tasks[label] = progress.add_task(label, total=total)
                progress.update(tasks[label], completed=done, total=total)

            try:
                target = in_process_target(suite, Settings.from_env(), data_dir=data_dir, resync=resync, on_progress=on_sync)
            except SportelloError as exc:
                console.print(f"[bold red]error:[/] {exc}", highlight=False)
                return None
        task = progress.add_task(f"eval {suite.name}", total=len(suite.cases))
        runner = Runner(target, concurrency=concurrency)
        try:
            case_runs = runner.run(suite, on_case=lambda _: progress.advance(task))
        finally:
            if isinstance(target, HttpTarget):
                target.close()
    return target.description, case_runs


def _write_outputs(
    report: dict[str, Any],
    console: Console,
    *,
    json_out: Path | None,
    html_out: Path | None,
    markdown_out: Path | None,
) -> None:
    from evals import dumps, render_html, render_markdown, write_json

    if json_out is not None:
        if str(json_out) == "-":
            sys.stdout.write(dumps(report))
        else:
            write_json(report, json_out)
            console.print(f"JSON report: {json_out}")
    for path, render in ((html_out, render_html), (markdown_out, render_markdown)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(report), encoding="utf-8")
            console.print(f"{'HTML' if render is render_html else 'Markdown'} report: {path}")


def _print_summary(out: Console, report: dict[str, Any]) -> None:
    from evals import METRIC_NAMES, format_delta, format_value

    metrics = report["metrics"]
    deltas = {d["name"]: d for d in (report.get("baseline") or {}).get("metrics", [])}
    table = Table(title=f"Eval {report['suite']}: {metrics['passed']}/{metrics['cases']} passed")
    table.add_column("metric")
    table.add_column("value", justify="right")
    if deltas:
        table.add_column("Δ baseline", justify="right")
    for name in METRIC_NAMES:
        row = [name, format_value(name, metrics.get(name))]
        if deltas:
            delta = deltas.get(name, {})
            style = {"better": "green", "worse": "red"}.get(delta.get("direction", ""), "")
            text = format_delta(name, delta.get("delta"))
            row.append(f"[{style}]{text}[/]" if style and text else text)
        table.add_row(*row)
    out.print(table)

    groups = Table(title="By category and language")
    for column in ("group", "cases", "passed", "accuracy", "c@1"):
        groups.add_column(column, justify="left" if column == "group" else "right")
    for kind in ("by_category", "by_language"):
        for name, group in report[kind].items():
            label = name if kind == "by_category" else f"lang: {name}"
            groups.add_row(label, str(group["cases"]), str(group["passed"]),
                           format_value("accuracy", group["accuracy"]), format_value("c_at_1", group["c_at_1"]))
    out.print(groups)

    failing = [c for c in report["cases"] if not c["passed"]]
    if failing:
        out.print(f"[bold]Failing cases ({len(failing)})[/]")
        for case in failing:
            out.print(Text.assemble(("  ✗ ", "red"), f"{case['id']}: " + "; ".join(case["reasons"])))
    baseline = report.get("baseline")
    if baseline:
        for label, key, style in (("newly failing", "newly_failing", "red"), ("newly passing", "newly_passing", "green")):
            ids = baseline.get(key) or []
            if ids:
                out.print(f"[{style}]{label} vs baseline ({len(ids)}):[/] " + ", ".join(ids), highlight=False)
        if not baseline.get("newly_failing") and not baseline.get("newly_passing"):
            out.print("No case changed outcome since the baseline.")


@eval_app.command("retrieval")
def retrieval_command(
    suite_path: SuiteArg,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON results ('-' for stdout).")] = None,
    data_dir: DataDirOption = None,
    manifest: ManifestOption = None,
    resync: ResyncOption = False,
) -> None:
    """Recall@1/5/10 and MRR of bm25, dense and hybrid search on SUITE's cases that name a `cite`."""
    from evals import (
        EvalError,
        TimedEmbedder,
        benchmark,
        default_data_dir,
        dumps,
        ensure_index,
        load_suite,
        retrieval_cases,
        retrieval_table,
        write_json,
    )
    from knowledge.index import KnowledgeBase, embedder_from_settings
    from knowledge.sources import load_manifest

    to_stdout = json_out is not None and str(json_out) == "-"
    console = Console(stderr=True)
    out = console if to_stdout else Console()
    settings = Settings.from_env()
    try:
        suite = load_suite(suite_path, manifest=manifest)
    except EvalError as exc:
        raise _fail(console, str(exc)) from exc
    cases = retrieval_cases(suite)
    if not cases:
        raise _fail(console, f"{suite_path}: no case names a source to cite ('cite'), nothing to measure")
    directory = data_dir or default_data_dir(settings, suite)
    try:
        loaded = load_manifest(suite.manifest)
        ensure_index(loaded, directory, settings, now=suite.now, force=resync)
        embedder = TimedEmbedder(embedder_from_settings(settings))
        kb = KnowledgeBase.open(directory, chroma_url=settings.chroma_url, embedder=embedder)
    except SportelloError as exc:
        raise _fail(console, str(exc)) from exc
    report = benchmark(kb, cases, suite_name=suite.name, run_at=datetime.now(UTC), embedder=embedder)
    out.print(retrieval_table(report))
    if json_out is not None:
        if to_stdout:
            sys.stdout.write(dumps(report))
        else:
            write_json(report, json_out)
            console.print(f"JSON results: {json_out}")
