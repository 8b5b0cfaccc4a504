"""Reports: a stable JSON schema, a Markdown summary and a self-contained HTML page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from evals.baseline import compare
from evals.errors import ReportError
from evals.metrics import METRIC_NAMES
from evals.report import CASE_KEYS, REPORT_KEYS, TURN_KEYS, build_report, load_report, write_json
from evals.report_html import render_html
from evals.report_markdown import render_markdown
from evals.runner import Runner
from evals.scoring import score_all
from evals.suite import Suite
from tests.evals.test_runner import ScriptedAssistant, suite  # noqa: F401 - `suite` is a fixture

RUN_AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def report(suite: Suite) -> dict[str, Any]:  # noqa: F811 - the fixture above
    results = score_all(Runner(ScriptedAssistant(), run_id="r1").run(suite))
    return build_report(suite, results, run_at=RUN_AT, target={"mode": "in-process"})


def test_report_json_has_the_versioned_top_level_keys(report: dict[str, Any]) -> None:
    assert tuple(report) == REPORT_KEYS
    assert REPORT_KEYS == ("version", "suite", "suite_file", "manifest", "run_at", "target", "judge", "notes",
                           "metrics", "by_category", "by_language", "cases")
    assert report["version"] == 1
    assert report["suite"] == "scripted"
    assert report["run_at"] == "2026-11-25T09:00:00+00:00"
    assert report["judge"] is None


def test_report_metrics_are_the_metric_names_the_gate_accepts(report: dict[str, Any]) -> None:
    assert tuple(report["metrics"]) == METRIC_NAMES
    assert set(report["by_category"]) == {"errors", "handoff", "hours", "multi-turn", "shipping", "unanswerable"}
    assert set(report["by_language"]) == {"en", "it"}
    assert all(tuple(group) == METRIC_NAMES for group in report["by_category"].values())


def test_report_cases_keep_id_outcome_reasons_and_the_transcript(report: dict[str, Any]) -> None:
    assert CASE_KEYS == ("id", "category", "lang", "passed", "reasons", "error", "turns", "latency_ms")
    assert TURN_KEYS == ("message", "reply", "latency_ms")
    assert all(tuple(case) == CASE_KEYS for case in report["cases"])
    assert all(tuple(turn) == TURN_KEYS for case in report["cases"] for turn in case["turns"])
    follow_up = next(case for case in report["cases"] if case["id"] == "follow-up-pass")
    assert [turn["message"] for turn in follow_up["turns"]] == ["Mi dite qualcosa del negozio di Padova?",
                                                               "Avete il parcheggio?"]
    assert follow_up["turns"][-1]["reply"]["citations"][0]["source_id"] == "stores"


def test_report_json_round_trips_through_a_file(report: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "out" / "report.json"
    write_json(report, path)
    assert load_report(path) == json.loads(json.dumps(report, default=str))


def test_loading_a_report_of_another_version_says_to_rerun_the_baseline(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"version": 0, "metrics": {}, "cases": []}), encoding="utf-8")
    with pytest.raises(ReportError, match="report version 0, this code reads version 1"):
        load_report(path)


def test_loading_something_that_is_not_a_report_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("[1, 2", encoding="utf-8")
    with pytest.raises(ReportError, match="not valid JSON"):
        load_report(path)
    with pytest.raises(ReportError, match="report not found"):
        load_report(tmp_path / "missing.json")


def test_html_report_is_self_contained(report: dict[str, Any]) -> None:
    page = render_html(report)
    assert page.startswith("<!doctype html>")
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(|\bsrc=", page, re.IGNORECASE)
    assert "<svg" in page and "<style>" in page


def test_html_report_expands_failing_cases_with_transcript_citations_and_warnings(report: dict[str, Any]) -> None:
    page = render_html(report)
    assert '<details class="fail" open id="case-shipping-wrong-citation-fail">' in page
    assert '<details class="pass" id="case-sunday-pass">' in page
    assert "expected citation of &#x27;stores&#x27;, cited [&#x27;faq&#x27;]" in page
    assert "La spedizione costa 4,90 €." in page
    assert "https://shop.example/faq#spedizioni" in page
    assert "Orari aggiornati al 3 novembre." in page  # the warning's detail


def test_html_chart_has_one_bar_per_category(report: dict[str, Any]) -> None:
    chart = re.search(r"<svg.*?</svg>", render_html(report), re.DOTALL)
    assert chart is not None
    assert chart.group(0).count(": accuracy ") == len(report["by_category"])


def test_markdown_summary_lists_metrics_categories_and_failing_cases_with_reasons(report: dict[str, Any]) -> None:
    text = render_markdown(report)
    assert text.startswith("## Eval `scripted`: 5/13 passed")
    assert "| accuracy | 0.385 |" in text
    assert "| hours | 3 | 2 |" in text
    assert "- `hours-handoff-fail` (handoff, it): expected handoff, none" in text


def test_markdown_and_html_show_the_baseline_comparison(report: dict[str, Any]) -> None:
    previous = json.loads(json.dumps(report))
    for case in previous["cases"]:
        case["passed"] = case["id"] != "hours-pass"
    previous["metrics"]["accuracy"] = 0.9
    report["baseline"] = compare(report, previous).to_dict()
    text = render_markdown(report)
    assert "| accuracy | 0.385 | −0.515 ⚠️ |" in text
    assert "**Newly passing** (1): `hours-pass`" in text
    assert "**Newly failing** (8): `sunday-missing-fail`" in text
    assert "Newly failing</strong> (8)" in render_html(report)
