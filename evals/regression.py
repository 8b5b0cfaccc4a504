"""The regression gate CI applies to every brand's suite: against the stored baseline report, no case
that passed may fail, and handoff and warning precision and recall may not drop.

Baselines are reports (`sportello eval SUITE --json evals/baselines/<suite>.json`, or `make
baselines` for all of them) committed with the change that moved them, so a review shows which
cases a change fixed and which it broke.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.baseline import compare

__all__ = ["GATED_METRICS", "RegressionResult", "baseline_path", "check_regression"]

# Precision and recall of the two things a wrong reply hides: a handoff a person needed (or one
# nobody did), a warning about stale or expired facts (or one about nothing).
GATED_METRICS = ("handoff_precision", "handoff_recall", "warning_precision", "warning_recall")
BASELINES = Path(__file__).resolve().parent / "baselines"


def baseline_path(suite_name: str) -> Path:
    return BASELINES / f"{suite_name}.json"


@dataclass(frozen=True)
class RegressionResult:
    newly_failing: list[str]
    dropped: dict[str, tuple[float, float]] = field(default_factory=dict)  # metric → (baseline, now)
    newly_passing: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.newly_failing and not self.dropped

    def describe(self) -> str:
        lines = []
        if self.newly_failing:
            lines.append(f"{len(self.newly_failing)} case(s) passed in the baseline and fail now: "
                         + ", ".join(self.newly_failing))
        for metric, (before, now) in self.dropped.items():
            lines.append(f"{metric} dropped from {before} to {now}")
        return "; ".join(lines) or "no regression"


def check_regression(report: dict[str, Any], baseline: dict[str, Any]) -> RegressionResult:
    comparison = compare(report, baseline)
    dropped = {}
    for metric in GATED_METRICS:
        before, now = baseline.get("metrics", {}).get(metric), report.get("metrics", {}).get(metric)
        if isinstance(before, int | float) and isinstance(now, int | float) and now < before - 1e-9:
            dropped[metric] = (before, now)
        elif isinstance(before, int | float) and now is None:
            dropped[metric] = (before, float("nan"))
    return RegressionResult(comparison.newly_failing, dropped, comparison.newly_passing)
