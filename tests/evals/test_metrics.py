"""Metric formulas (evals/metrics.py) on small worked examples."""

from __future__ import annotations

from typing import Any

import pytest

from evals.metrics import METRIC_NAMES, c_at_1, compute_metrics, language_of, metrics_by, percentile
from evals.runner import CaseRun, TurnRecord
from evals.scoring import CaseResult, score
from evals.suite import Case


def _reply(text: str = "", *, grounded: bool = True, handoff: bool = False, cites: tuple[str, ...] = (),
           warnings: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "text": text,
        "language": "it",
        "grounded": grounded,
        "citations": [{"source_id": s, "url": None, "title": s, "updated_at": None, "stale": False} for s in cites],
        "warnings": [{"kind": k, "detail": "", "sources": []} for k in warnings],
        "handoff": {"reason": "no_answer", "summary": "", "language": "it", "evidence": []} if handoff else None,
        "trace": {},
    }


def _result(case: Case, reply: dict[str, Any] | None, latency: float = 10.0, error: str | None = None) -> CaseResult:
    return score(CaseRun(case, f"c-{case.id}", [TurnRecord("q", reply, latency)], error))


def test_c_at_1_rewards_honest_abstention_on_the_clef_worked_example() -> None:
    # 10 questions: 6 right, 2 left unanswered, 2 wrong → (6 + 2 · 6/10) / 10.
    assert c_at_1(6, 2, 10) == 0.72
    # Answering the 2 unanswered ones wrongly instead scores plain accuracy, which is lower.
    assert c_at_1(6, 0, 10) == 0.6
    assert c_at_1(0, 0, 0) is None


def test_c_at_1_of_a_run_counts_failed_cases_that_handed_off_or_were_ungrounded_as_unanswered() -> None:
    results = [
        *[_result(Case(id=f"ok{i}", turns=("q",), expect=(("giusto",),)), _reply("giusto")) for i in range(6)],
        _result(Case(id="handed", turns=("q",), expect=(("giusto",),), handoff=True), _reply("x", handoff=True)),
        _result(Case(id="ungrounded", turns=("q",), expect=(("giusto",),)), _reply("non so", grounded=False)),
        _result(Case(id="wrong1", turns=("q",), expect=(("giusto",),)), _reply("sbagliato")),
        _result(Case(id="wrong2", turns=("q",), expect=(("giusto",),)), _reply("sbagliato")),
    ]
    metrics = compute_metrics(results)
    assert metrics["accuracy"] == 0.6
    assert metrics["c_at_1"] == 0.72


def test_metrics_always_carry_every_metric_name_in_order_with_none_for_empty_denominators() -> None:
    metrics = compute_metrics([_result(Case(id="a", turns=("q",)), _reply("ok"))])
    assert tuple(metrics) == METRIC_NAMES
    assert metrics["citation_recall"] is None
    assert metrics["unanswerable_refusal_rate"] is None
    assert metrics["accuracy"] == 1.0


def test_citation_precision_counts_citations_and_recall_counts_cases() -> None:
    results = [
        _result(Case(id="a", turns=("q",), cite=("stores",)), _reply(cites=("stores", "faq"))),
        _result(Case(id="b", turns=("q",), cite=("stores", "products")), _reply(cites=("faq",))),
        _result(Case(id="c", turns=("q",)), _reply(cites=("blog",))),  # no `cite`: not counted
    ]
    metrics = compute_metrics(results)
    assert metrics["citation_precision"] == round(1 / 3, 4)
    assert metrics["citation_recall"] == 0.5


def test_warning_metrics_only_count_cases_that_list_warnings() -> None:
    results = [
        _result(Case(id="a", turns=("q",), warnings=("stale",)), _reply(warnings=("stale", "conflict"))),
        _result(Case(id="b", turns=("q",), warnings=()), _reply(warnings=("expired",))),
        _result(Case(id="c", turns=("q",), warnings=("conflict",)), _reply()),
        _result(Case(id="d", turns=("q",)), _reply(warnings=("stale",))),  # unlabelled: ignored
    ]
    metrics = compute_metrics(results)
    assert metrics["warning_precision_stale"] == 1.0
    assert metrics["warning_recall_stale"] == 1.0
    assert metrics["warning_precision_conflict"] == 0.0
    assert metrics["warning_recall_conflict"] == 0.0
    assert metrics["warning_precision_expired"] == 0.0
    assert metrics["warning_recall_expired"] is None
    assert metrics["warning_precision"] == round(1 / 3, 4)
    assert metrics["warning_recall"] == 0.5


def test_refusal_and_grounded_claim_rates_split_unanswerable_from_answerable_cases() -> None:
    results = [
        _result(Case(id="u1", turns=("q",), unanswerable=True), _reply("non lo so", grounded=False)),
        _result(Case(id="u2", turns=("q",), unanswerable=True), _reply("inventato", grounded=True)),
        _result(Case(id="u3", turns=("q",), unanswerable=True), None, error="boom"),  # an error is no refusal
        _result(Case(id="a1", turns=("q",)), _reply("ok", grounded=True)),
        _result(Case(id="a2", turns=("q",)), _reply("boh", grounded=False)),
        _result(Case(id="h", turns=("q",), handoff=True), _reply("persona", grounded=False, handoff=True)),
    ]
    metrics = compute_metrics(results)
    assert metrics["unanswerable_refusal_rate"] == round(1 / 3, 4)
    assert metrics["grounded_claim_rate"] == 0.5
    assert metrics["handoff_recall"] == 1.0
    assert metrics["handoff_precision"] == 1.0


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([], 50, None), ([7.0], 95, 7.0), ([1, 2, 3, 4], 50, 2.5), (list(range(1, 101)), 95, 95.05)],
)
def test_percentile_interpolates_between_closest_ranks(values: list[float], q: float, expected: float | None) -> None:
    assert percentile(values, q) == (round(expected, 1) if expected is not None else None)


def test_latency_percentiles_are_taken_per_turn() -> None:
    case = Case(id="a", turns=("q1", "q2"))
    run = CaseRun(case, "c", [TurnRecord("q1", _reply("x"), 10.0), TurnRecord("q2", _reply("y"), 30.0)])
    metrics = compute_metrics([score(run)])
    assert metrics["latency_p50_ms"] == 20.0


def test_metrics_by_language_groups_cases_without_lang_as_unspecified() -> None:
    results = [
        _result(Case(id="a", turns=("q",), lang="it"), _reply()),
        _result(Case(id="b", turns=("q",)), _reply()),
    ]
    groups = metrics_by(results, language_of)
    assert list(groups) == ["it", "unspecified"]
    assert groups["it"]["cases"] == 1
