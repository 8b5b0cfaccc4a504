"""The regression gate CI applies to every brand's suite: against the stored baseline report, no case
that passed may fail, and handoff and warning precision and recall may not drop.

Baselines are reports (`sportello eval SUITE --json evals/baselines/<suite>.json`, or `make
baselines` for all of them) committed with the change that moved them, so a review shows which
cases a change fixed and which it broke.

A case decided within numerical noise of a grounding bar is not evidence of a regression: the
bundled embedder's vectors differ in the last digits from one CPU to another (its kernels follow
the machine's SIMD width), which moved a similarity by 7e-4 — 0.02 to 0.03 of an index's null
spread — between two machines on identical code and data. A flip of such a case is reported as
`borderline`, not failed, and a metric drop is excused only when every flip is borderline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent import CLEAR_Z, MIN_MARGIN, MIN_Z
from evals.baseline import compare

__all__ = ["GATED_METRICS", "RegressionResult", "baseline_path", "check_regression"]

# Precision and recall of the two things a wrong reply hides: a handoff a person needed (or one
# nobody did), a warning about stale or expired facts (or one about nothing).
GATED_METRICS = ("handoff_precision", "handoff_recall", "warning_precision", "warning_recall")
BASELINES = Path(__file__).resolve().parent / "baselines"
# In null standard deviations, like the bars themselves: about twice the cross-machine jitter seen.
NOISE = 0.05


def baseline_path(suite_name: str) -> Path:
    return BASELINES / f"{suite_name}.json"


@dataclass(frozen=True)
class RegressionResult:
    newly_failing: list[str]
    dropped: dict[str, tuple[float, float]] = field(default_factory=dict)  # metric → (baseline, now)
    newly_passing: list[str] = field(default_factory=list)
    borderline: list[str] = field(default_factory=list)  # flips decided within noise of a bar

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
        if self.borderline:
            lines.append("within noise of a grounding bar (not counted): " + ", ".join(self.borderline))
        return "; ".join(lines) or "no regression"


def check_regression(report: dict[str, Any], baseline: dict[str, Any]) -> RegressionResult:
    comparison = compare(report, baseline)
    near = _near_a_bar(report) | _near_a_bar(baseline)
    borderline = [i for i in comparison.newly_failing if i in near]
    newly_failing = [i for i in comparison.newly_failing if i not in near]
    dropped = {}
    for metric in GATED_METRICS:
        before, now = baseline.get("metrics", {}).get(metric), report.get("metrics", {}).get(metric)
        if isinstance(before, int | float) and isinstance(now, int | float) and now < before - 1e-9:
            dropped[metric] = (before, now)
        elif isinstance(before, int | float) and now is None:
            dropped[metric] = (before, float("nan"))
    if borderline and not newly_failing:
        dropped = {}
    return RegressionResult(newly_failing, dropped, comparison.newly_passing, borderline)


def _near_a_bar(report: dict[str, Any]) -> set[str]:
    """Cases with a turn whose grounding z or margin lies within NOISE of the bar it was judged by."""
    near = set()
    for case in report.get("cases", []):
        for turn in case.get("turns") or ():
            grounding = ((turn.get("reply") or {}).get("trace") or {}).get("grounding") or {}
            z, margin = grounding.get("z"), grounding.get("margin")
            if (isinstance(z, int | float) and min(abs(z - MIN_Z), abs(z - CLEAR_Z)) <= NOISE) or (
                isinstance(margin, int | float) and abs(margin - MIN_MARGIN) <= NOISE
            ):
                near.add(case["id"])
    return near
