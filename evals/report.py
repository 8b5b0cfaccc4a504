"""The eval report as JSON: a stable, versioned schema that baselines and CI compare against.

```
{"version": 1, "suite": "demo", "suite_file": "...", "manifest": "...", "run_at": "...",
 "target": {"mode": "in-process" | "http", ...}, "judge": null, "notes": [...],
 "metrics": {<METRIC_NAMES>}, "by_category": {name: {...}}, "by_language": {lang: {...}},
 "cases": [{"id", "category", "lang", "passed", "reasons", "error",
            "turns": [{"message", "reply": {...} | null, "latency_ms"}], "latency_ms"}]}
```
Optional keys added by the command: "baseline" (see evals/baseline.py) and "gate".  Adding keys
keeps version 1; renaming or removing one is a new version.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from evals.errors import ReportError
from evals.metrics import category_of, compute_metrics, language_of, metrics_by
from evals.scoring import CaseResult
from evals.suite import Suite

REPORT_VERSION = 1
REPORT_KEYS = ("version", "suite", "suite_file", "manifest", "run_at", "target", "judge", "notes",
               "metrics", "by_category", "by_language", "cases")
CASE_KEYS = ("id", "category", "lang", "passed", "reasons", "error", "turns", "latency_ms")
TURN_KEYS = ("message", "reply", "latency_ms")


def build_report(
    suite: Suite,
    results: list[CaseResult],
    *,
    run_at: datetime,
    target: dict[str, Any],
    notes: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "version": REPORT_VERSION,
        "suite": suite.name,
        "suite_file": _shown(suite.path),
        "manifest": _shown(suite.manifest),
        "run_at": run_at.isoformat(timespec="seconds"),
        "target": target,
        "judge": None,  # no LLM judge: every verdict comes from the suite's rules
        "notes": list(notes or []),
        "metrics": compute_metrics(results),
        "by_category": metrics_by(results, category_of),
        "by_language": metrics_by(results, language_of),
        "cases": [_case(result) for result in results],
    }


def _shown(path: Path) -> str:
    """Relative to the working directory when under it, so a stored baseline is not tied to a machine."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _case(result: CaseResult) -> dict[str, Any]:
    case, run = result.case, result.run
    return {
        "id": case.id,
        "category": case.category,
        "lang": case.lang,
        "passed": result.passed,
        "reasons": list(result.reasons),
        "error": run.error,
        "turns": [
            {"message": turn.message, "reply": turn.reply, "latency_ms": turn.latency_ms} for turn in run.turns
        ],
        "latency_ms": round(run.latency_ms, 3),
    }


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n"


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(report), encoding="utf-8")


def load_report(path: str | Path) -> dict[str, Any]:
    """Read a report written by `write_json` (e.g. a baseline); raise ReportError if it is not one."""
    path = Path(path)
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReportError(f"{path}: report not found") from exc
    except OSError as exc:
        raise ReportError(f"{path}: cannot read report ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(report, dict) or "version" not in report:
        raise ReportError(f"{path}: not an eval report (no 'version'); write one with `sportello eval --json`")
    if report["version"] != REPORT_VERSION:
        raise ReportError(
            f"{path}: report version {report['version']!r}, this code reads version {REPORT_VERSION}; "
            "re-run the baseline with this version"
        )
    for key in ("metrics", "cases"):
        if key not in report:
            raise ReportError(f"{path}: report has no {key!r}")
    return report
