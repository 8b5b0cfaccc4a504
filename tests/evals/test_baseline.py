"""Comparing a run with a stored baseline, metric by metric and case by case (evals/baseline.py)."""

from __future__ import annotations

from typing import Any

from evals.baseline import compare


def _report(metrics: dict[str, Any], outcomes: dict[str, bool], run_at: str = "2026-11-01T00:00:00+00:00") -> dict:
    return {
        "version": 1,
        "run_at": run_at,
        "metrics": metrics,
        "cases": [{"id": case_id, "passed": passed, "reasons": []} for case_id, passed in outcomes.items()],
    }


BEFORE = _report({"accuracy": 0.75, "latency_p95_ms": 40.0, "cases": 4, "citation_recall": None},
                 {"a": True, "b": True, "c": False, "gone": True})
AFTER = _report({"accuracy": 0.6, "latency_p95_ms": 30.0, "cases": 5, "citation_recall": 0.5},
                {"a": True, "b": False, "c": True, "new1": True, "new2": False}, run_at="2026-11-25T00:00:00+00:00")


def test_cases_that_changed_outcome_are_listed_as_newly_failing_or_passing() -> None:
    comparison = compare(AFTER, BEFORE)
    assert comparison.newly_failing == ["b"]
    assert comparison.newly_passing == ["c"]
    assert comparison.regressed


def test_cases_added_or_removed_are_listed_apart_from_regressions() -> None:
    comparison = compare(AFTER, BEFORE)
    assert comparison.added == ["new1", "new2"]
    assert comparison.removed == ["gone"]


def test_metric_deltas_say_whether_the_change_is_better_or_worse() -> None:
    deltas = {d.name: d for d in compare(AFTER, BEFORE).metrics}
    assert (deltas["accuracy"].delta, deltas["accuracy"].direction) == (-0.15, "worse")
    assert (deltas["latency_p95_ms"].delta, deltas["latency_p95_ms"].direction) == (-10.0, "better")
    assert deltas["cases"].direction == "same"
    assert (deltas["citation_recall"].delta, deltas["citation_recall"].direction) == (None, "n/a")


def test_an_identical_run_has_no_regression_and_only_unchanged_metrics() -> None:
    comparison = compare(BEFORE, BEFORE)
    assert not comparison.regressed
    assert not comparison.newly_passing
    assert {d.direction for d in comparison.metrics} <= {"same", "n/a"}
    assert comparison.to_dict()["baseline_run_at"] == "2026-11-01T00:00:00+00:00"
