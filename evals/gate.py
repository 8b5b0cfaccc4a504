"""`--fail-under METRIC=VALUE`: the numbers below which CI fails the run.

Metric names are the keys of the report's "metrics" (`evals.metrics.METRIC_NAMES`), checked
before the suite runs so a typo fails in a second, not after the whole suite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from evals.errors import GateError, UnknownMetric
from evals.metrics import LOWER_IS_BETTER, METRIC_NAMES


@dataclass(frozen=True)
class Threshold:
    metric: str
    minimum: float


@dataclass(frozen=True)
class GateResult:
    thresholds: list[Threshold]
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "thresholds": {t.metric: t.minimum for t in self.thresholds},
            "failures": list(self.failures),
        }


def parse_threshold(spec: str, *, valid: tuple[str, ...] = METRIC_NAMES) -> Threshold:
    """'accuracy=0.8' (or '80%') → Threshold('accuracy', 0.8)."""
    name, sep, raw = spec.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not name or not raw:
        raise GateError(f"--fail-under {spec!r}: expected METRIC=VALUE, e.g. accuracy=0.8")
    if name not in valid:
        raise UnknownMetric(f"--fail-under {spec!r}: unknown metric {name!r}; valid names: {', '.join(valid)}")
    if name in LOWER_IS_BETTER:
        raise GateError(f"--fail-under {spec!r}: {name} is better when lower, so a minimum makes no sense")
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError as exc:
        raise GateError(f"--fail-under {spec!r}: {raw!r} is not a number") from exc
    if not math.isfinite(value):
        raise GateError(f"--fail-under {spec!r}: the value must be a finite number")
    return Threshold(name, value)


def parse_thresholds(specs: list[str] | None) -> list[Threshold]:
    return [parse_threshold(spec) for spec in specs or []]


def check(metrics: dict[str, Any], thresholds: list[Threshold]) -> GateResult:
    failures: list[str] = []
    for threshold in thresholds:
        value = metrics.get(threshold.metric)
        if value is None:
            failures.append(
                f"{threshold.metric} has no value (no case in the suite measures it), required ≥ {threshold.minimum:g}"
            )
        elif value < threshold.minimum:
            failures.append(f"{threshold.metric} = {value:g}, below {threshold.minimum:g}")
    return GateResult(thresholds, failures)
