"""The regression gate: newly failing cases and drops in handoff/warning precision or recall."""

from __future__ import annotations

from typing import Any

from agent import MIN_MARGIN, MIN_Z
from evals import GATED_METRICS, check_regression


def _report(passed: dict[str, bool], **metrics: float | None) -> dict[str, Any]:
    return {"cases": [{"id": i, "passed": p} for i, p in passed.items()], "metrics": metrics}


def test_a_case_that_passed_and_now_fails_is_a_regression() -> None:
    baseline = _report({"a": True, "b": False})
    result = check_regression(_report({"a": False, "b": True}), baseline)
    assert not result.passed
    assert result.newly_failing == ["a"]
    assert result.newly_passing == ["b"]
    assert "a" in result.describe()


def test_a_drop_in_a_gated_metric_is_a_regression_even_when_no_case_flips() -> None:
    baseline = _report({"a": False}, handoff_precision=0.8, warning_recall=0.9)
    result = check_regression(_report({"a": False}, handoff_precision=0.75, warning_recall=0.95), baseline)
    assert result.dropped == {"handoff_precision": (0.8, 0.75)}
    assert not result.passed


def test_equal_or_better_numbers_pass_and_only_the_gated_metrics_count() -> None:
    metrics = dict.fromkeys(GATED_METRICS, 0.9)
    baseline = _report({"a": True}, accuracy=0.9, **metrics)
    assert check_regression(_report({"a": True}, accuracy=0.5, **metrics), baseline).passed


def test_a_metric_the_baseline_had_and_the_run_lost_is_a_regression() -> None:
    baseline = _report({}, warning_precision=1.0)
    assert "warning_precision" in check_regression(_report({}, warning_precision=None), baseline).dropped


def _traced(passed: dict[str, bool], grounding: dict[str, dict[str, float | None]], **metrics: float | None) -> dict[str, Any]:
    report = _report(passed, **metrics)
    for case in report["cases"]:
        case["turns"] = [{"reply": {"trace": {"grounding": grounding.get(case["id"], {})}}}]
    return report


def test_a_flip_decided_within_noise_of_a_grounding_bar_is_borderline_not_a_regression() -> None:
    baseline = _traced({"a": True}, {"a": {"z": MIN_Z - 0.004, "margin": None}}, handoff_precision=0.52)
    now = _traced({"a": False}, {"a": {"z": MIN_Z + 0.02, "margin": 0.1}}, handoff_precision=0.5)
    result = check_regression(now, baseline)
    assert result.passed
    assert result.borderline == ["a"]
    assert "a" in result.describe()


def test_a_flip_far_from_every_bar_is_still_a_regression_and_its_metric_drops_count() -> None:
    baseline = _traced({"a": True, "b": True}, {"a": {"z": MIN_Z + 0.02}, "b": {"z": 1.0, "margin": 0.9}},
                       handoff_precision=0.6)
    now = _traced({"a": False, "b": False}, {"a": {"z": MIN_Z - 0.01}, "b": {"z": 2.7, "margin": 0.8}},
                  handoff_precision=0.5)
    result = check_regression(now, baseline)
    assert result.newly_failing == ["b"]
    assert result.borderline == ["a"]
    assert result.dropped == {"handoff_precision": (0.6, 0.5)}
    assert not result.passed


def test_a_margin_near_its_bar_makes_a_flip_borderline() -> None:
    baseline = _traced({"a": True}, {"a": {"z": 2.63, "margin": MIN_MARGIN - 0.009}})
    now = _traced({"a": False}, {"a": {"z": 2.62, "margin": MIN_MARGIN + 0.008}})
    assert check_regression(now, baseline).borderline == ["a"]
