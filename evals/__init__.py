"""Evals: suites of customer questions with expectations, run in-process or over HTTP, scored,
turned into metrics, reports (JSON, Markdown, HTML), baseline comparisons and a release gate.
See evals/README.md."""

from evals.baseline import compare
from evals.errors import EvalError, GateError, ReportError, SuiteError, TargetError, UnknownMetric
from evals.gate import GateResult, check, parse_thresholds
from evals.metrics import METRIC_NAMES, compute_metrics
from evals.paraphrase import ParaphraseResult, ParaphraseScore, paraphrase_cases, score_paraphrases
from evals.regression import GATED_METRICS, RegressionResult, baseline_path, check_regression
from evals.report import build_report, dumps, load_report, write_json
from evals.report_html import render_html
from evals.report_markdown import format_delta, format_value, render_markdown
from evals.retrieval import TimedEmbedder, benchmark, retrieval_cases, retrieval_table
from evals.runner import CaseRun, HttpTarget, InProcessTarget, Runner
from evals.scoring import CaseResult, score, score_all
from evals.suite import Case, Suite, load_suite
from evals.workspace import default_data_dir, ensure_index, in_process_target

__all__ = [
    "GATED_METRICS",
    "RegressionResult",
    "baseline_path",
    "check_regression",
    "ParaphraseResult",
    "ParaphraseScore",
    "paraphrase_cases",
    "score_paraphrases",
    "METRIC_NAMES",
    "Case",
    "CaseResult",
    "CaseRun",
    "EvalError",
    "GateError",
    "GateResult",
    "HttpTarget",
    "InProcessTarget",
    "ReportError",
    "Runner",
    "Suite",
    "SuiteError",
    "TargetError",
    "TimedEmbedder",
    "UnknownMetric",
    "benchmark",
    "build_report",
    "check",
    "compare",
    "compute_metrics",
    "default_data_dir",
    "dumps",
    "ensure_index",
    "format_delta",
    "format_value",
    "in_process_target",
    "load_report",
    "load_suite",
    "parse_thresholds",
    "render_html",
    "render_markdown",
    "retrieval_cases",
    "retrieval_table",
    "score",
    "score_all",
    "write_json",
]
