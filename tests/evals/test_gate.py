"""`--fail-under METRIC=VALUE` parsing and checking (evals/gate.py)."""

from __future__ import annotations

import pytest

from evals.errors import GateError, UnknownMetric
from evals.gate import Threshold, check, parse_threshold, parse_thresholds
from evals.metrics import METRIC_NAMES


def test_a_threshold_is_a_metric_name_and_a_minimum() -> None:
    assert parse_thresholds(["accuracy=0.8", "c_at_1=75%"]) == [Threshold("accuracy", 0.8), Threshold("c_at_1", 0.75)]


def test_the_gate_passes_when_every_metric_meets_its_minimum() -> None:
    result = check({"accuracy": 0.8, "c_at_1": 0.9}, parse_thresholds(["accuracy=0.8", "c_at_1=0.85"]))
    assert result.passed
    assert result.to_dict() == {"passed": True, "thresholds": {"accuracy": 0.8, "c_at_1": 0.85}, "failures": []}


def test_the_gate_fails_naming_each_metric_below_its_minimum() -> None:
    result = check({"accuracy": 0.79, "c_at_1": 0.9}, parse_thresholds(["accuracy=0.8", "c_at_1=0.85"]))
    assert not result.passed
    assert result.failures == ["accuracy = 0.79, below 0.8"]


def test_a_metric_without_a_value_fails_the_gate_rather_than_passing_silently() -> None:
    result = check({"citation_recall": None}, [Threshold("citation_recall", 0.5)])
    assert result.failures == ["citation_recall has no value (no case in the suite measures it), required ≥ 0.5"]


def test_an_unknown_metric_is_an_error_listing_the_valid_names() -> None:
    with pytest.raises(UnknownMetric) as error:
        parse_threshold("acuracy=0.8")
    message = str(error.value)
    assert "unknown metric 'acuracy'" in message
    assert all(name in message for name in ("accuracy", "c_at_1", "warning_recall_stale", "handoff_precision"))


@pytest.mark.parametrize("spec", ["accuracy", "accuracy=", "=0.8", "accuracy=high", "accuracy=nan"])
def test_a_malformed_threshold_says_what_form_is_expected(spec: str) -> None:
    with pytest.raises(GateError, match="--fail-under"):
        parse_threshold(spec)


def test_a_minimum_on_a_lower_is_better_metric_is_refused() -> None:
    with pytest.raises(GateError, match="better when lower"):
        parse_threshold("latency_p95_ms=100")


def test_every_higher_is_better_metric_name_is_accepted() -> None:
    accepted = [name for name in METRIC_NAMES if not name.startswith("latency") and name != "errors"]
    assert [t.metric for t in parse_thresholds([f"{name}=0" for name in accepted])] == accepted
