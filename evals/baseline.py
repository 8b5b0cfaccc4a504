"""Compare a report with a previous one: which metrics moved, which cases got better or worse."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from evals.metrics import LOWER_IS_BETTER, METRIC_NAMES, NEUTRAL

Direction = Literal["better", "worse", "same", "n/a"]


@dataclass(frozen=True)
class MetricDelta:
    name: str
    before: float | int | None
    after: float | int | None
    delta: float | None
    direction: Direction


@dataclass(frozen=True)
class Comparison:
    baseline_run_at: str | None
    metrics: list[MetricDelta]
    newly_failing: list[str] = field(default_factory=list)
    newly_passing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # cases new in this run
    removed: list[str] = field(default_factory=list)  # cases only in the baseline

    @property
    def regressed(self) -> bool:
        """A case that passed in the baseline fails now."""
        return bool(self.newly_failing)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(current: dict[str, Any], baseline: dict[str, Any]) -> Comparison:
    """Both arguments are reports as written by evals.report (version 1)."""
    before_metrics = baseline.get("metrics", {})
    after_metrics = current.get("metrics", {})
    names = [n for n in METRIC_NAMES if n in before_metrics or n in after_metrics]
    names += sorted(set(after_metrics) - set(names))
    deltas = [_delta(name, before_metrics.get(name), after_metrics.get(name)) for name in names]

    before_cases = {c["id"]: bool(c["passed"]) for c in baseline.get("cases", [])}
    after_cases = {c["id"]: bool(c["passed"]) for c in current.get("cases", [])}
    common = [case_id for case_id in after_cases if case_id in before_cases]
    return Comparison(
        baseline_run_at=baseline.get("run_at"),
        metrics=deltas,
        newly_failing=[i for i in common if before_cases[i] and not after_cases[i]],
        newly_passing=[i for i in common if not before_cases[i] and after_cases[i]],
        added=[i for i in after_cases if i not in before_cases],
        removed=[i for i in before_cases if i not in after_cases],
    )


def _delta(name: str, before: Any, after: Any) -> MetricDelta:
    if not isinstance(before, int | float) or not isinstance(after, int | float):
        return MetricDelta(name, before, after, None, "n/a")
    delta = round(after - before, 4)
    if delta == 0 or name in NEUTRAL:
        direction: Direction = "same"
    elif (delta < 0) == (name in LOWER_IS_BETTER):
        direction = "better"
    else:
        direction = "worse"
    return MetricDelta(name, before, after, delta, direction)
