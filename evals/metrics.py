"""Suite-level numbers from scored cases.  Pure functions; every name in `METRIC_NAMES` is a key
of the report's "metrics" (and of each entry of "by_category"/"by_language"), and the set of
names `--fail-under` accepts.

A metric whose denominator is empty (no case names a citation, no unanswerable case...) is None
rather than a made-up 0 or 1.  Definitions (see also evals/README.md):

- accuracy: passed cases / cases.
- c_at_1 (CLEF ResPubliQA, Peñas & Rodrigo 2011): (n_R + n_U · n_R / n) / n, where n_R are the
  cases passed, n_U the cases that failed without answering (handed off or not grounded) and
  n all cases — an honest "I don't know, let me pass you to a person" scores better than a
  wrong answer.  A correct refusal or an expected handoff passes, so it counts in n_R.
- citation_precision: of the citations made on cases with `cite`, the share matching a cite
  entry; citation_recall: cases with `cite` whose reply cites one of its entries.
- warning_precision/recall (overall and per kind): on cases that list `warnings` (an empty
  list included), counting each (case, kind) raised or expected.
- handoff_precision/recall: on cases whose expected handoff is true or false.
- unanswerable_refusal_rate: unanswerable cases whose reply did not claim to be grounded.
- grounded_claim_rate: answerable cases (not unanswerable, no handoff expected) whose reply
  claimed to be grounded.
- latency_p50_ms/p95_ms: per turn, linear interpolation between closest ranks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from evals.scoring import CaseResult, relevant_citations

WARNING_KINDS = ("stale", "expired", "conflict")

METRIC_NAMES: tuple[str, ...] = (
    "cases",
    "passed",
    "errors",
    "accuracy",
    "c_at_1",
    "citation_precision",
    "citation_recall",
    "warning_precision",
    "warning_recall",
    *(f"warning_{measure}_{kind}" for kind in WARNING_KINDS for measure in ("precision", "recall")),
    "handoff_precision",
    "handoff_recall",
    "unanswerable_refusal_rate",
    "grounded_claim_rate",
    "latency_p50_ms",
    "latency_p95_ms",
)
# For reading deltas: everything else is better when higher, except plain counts of cases.
LOWER_IS_BETTER = frozenset({"errors", "latency_p50_ms", "latency_p95_ms"})
NEUTRAL = frozenset({"cases"})

Metrics = dict[str, float | int | None]


def ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def c_at_1(n_correct: int, n_unanswered: int, n: int) -> float | None:
    """c@1 = (n_R + n_U · n_R / n) / n: unanswered questions earn the accuracy shown elsewhere."""
    if n == 0:
        return None
    return round((n_correct + n_unanswered * n_correct / n) / n, 4)


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 1)


def compute_metrics(results: list[CaseResult]) -> Metrics:
    n = len(results)
    passed = sum(1 for r in results if r.passed)
    errors = sum(1 for r in results if r.run.error is not None)
    unanswered_wrong = sum(
        1 for r in results if not r.passed and r.run.error is None and not r.observation.answered
    )
    metrics: Metrics = {
        "cases": n,
        "passed": passed,
        "errors": errors,
        "accuracy": ratio(passed, n),
        "c_at_1": c_at_1(passed, unanswered_wrong, n),
    }
    metrics.update(_citations(results))
    metrics.update(_warnings(results))
    metrics.update(_handoffs(results))

    unanswerable = [r for r in results if r.case.unanswerable]
    refused = sum(1 for r in unanswerable if r.run.error is None and not r.observation.grounded)
    metrics["unanswerable_refusal_rate"] = ratio(refused, len(unanswerable))
    answerable = [r for r in results if not r.case.unanswerable and r.case.expected_handoff is not True]
    metrics["grounded_claim_rate"] = ratio(sum(1 for r in answerable if r.observation.grounded), len(answerable))

    latencies = [turn.latency_ms for r in results for turn in r.run.turns]
    metrics["latency_p50_ms"] = percentile(latencies, 50)
    metrics["latency_p95_ms"] = percentile(latencies, 95)
    return {name: metrics[name] for name in METRIC_NAMES}


def metrics_by(results: list[CaseResult], key: Callable[[CaseResult], str]) -> dict[str, Metrics]:
    """The same metrics per group (category, language), groups in sorted order."""
    groups: dict[str, list[CaseResult]] = {}
    for result in results:
        groups.setdefault(key(result), []).append(result)
    return {name: compute_metrics(groups[name]) for name in sorted(groups)}


def category_of(result: CaseResult) -> str:
    return result.case.category


def language_of(result: CaseResult) -> str:
    return result.case.lang or "unspecified"


def _citations(results: list[CaseResult]) -> dict[str, Any]:
    with_cite = [r for r in results if r.case.cite]
    made = sum(len(r.observation.citations) for r in with_cite)
    relevant = sum(relevant_citations(r.observation, r.case.cite) for r in with_cite)
    hit = sum(1 for r in with_cite if relevant_citations(r.observation, r.case.cite) > 0)
    return {"citation_precision": ratio(relevant, made), "citation_recall": ratio(hit, len(with_cite))}


def _warnings(results: list[CaseResult]) -> dict[str, Any]:
    labelled = [r for r in results if r.case.warnings is not None]
    out: dict[str, Any] = {}
    totals = {"tp": 0, "fp": 0, "fn": 0}
    for kind in WARNING_KINDS:
        tp = fp = fn = 0
        for r in labelled:
            expected = kind in (r.case.warnings or ())
            raised = kind in r.observation.warning_kinds
            tp += expected and raised
            fp += raised and not expected
            fn += expected and not raised
        out[f"warning_precision_{kind}"] = ratio(tp, tp + fp)
        out[f"warning_recall_{kind}"] = ratio(tp, tp + fn)
        totals["tp"] += tp
        totals["fp"] += fp
        totals["fn"] += fn
    out["warning_precision"] = ratio(totals["tp"], totals["tp"] + totals["fp"])
    out["warning_recall"] = ratio(totals["tp"], totals["tp"] + totals["fn"])
    return out


def _handoffs(results: list[CaseResult]) -> dict[str, Any]:
    tp = fp = fn = 0
    for r in results:
        expected = r.case.expected_handoff
        if expected is None:
            continue
        made = r.observation.handed_off
        tp += expected and made
        fp += made and not expected
        fn += expected and not made
    return {"handoff_precision": ratio(tp, tp + fp), "handoff_recall": ratio(tp, tp + fn)}
