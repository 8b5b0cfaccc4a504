"""`sportello eval` through typer's test runner, against the scripted service on loopback."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from evals.suite import Suite
from sportello.cli.evals import eval_app
from tests.evals.test_runner import service, suite  # noqa: F401 - fixtures

# Mounted the way sportello.cli mounts it.
app = typer.Typer()
app.add_typer(eval_app, name="eval")


@app.callback()
def main() -> None:
    """sportello"""


def invoke(*args: str):  # noqa: ANN201 - click.testing.Result
    return CliRunner().invoke(app, ["eval", *map(str, args)], env={"COLUMNS": "200", "SPORTELLO_EVAL_KEY": None})


def test_eval_runs_the_suite_prints_the_table_and_writes_every_report(suite: Suite, service, tmp_path: Path) -> None:  # noqa: F811
    url, _ = service
    out = tmp_path / "reports"
    result = invoke(suite.path, "--url", url, "--key", "chan-key", "--json", out / "r.json",
                    "--html", out / "r.html", "--markdown", out / "r.md", "--concurrency", "2")
    assert result.exit_code == 0, result.output
    assert "Eval scripted: 5/13 passed" in result.stdout
    assert "✗ hours-handoff-fail: expected handoff, none" in result.stdout
    report = json.loads((out / "r.json").read_text(encoding="utf-8"))
    assert report["target"] == {"mode": "http", "url": url}
    assert report["notes"] == [
        "13 cases set a clock (`now`) that a service cannot honour: it answered on its own clock."
    ]
    assert (out / "r.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    assert (out / "r.md").read_text(encoding="utf-8").startswith("## Eval `scripted`: 5/13 passed")


def test_explicit_run_subcommand_is_the_same_as_the_default(suite: Suite, service) -> None:  # noqa: F811
    url, _ = service
    result = invoke("run", suite.path, "--url", url, "--key", "chan-key")
    assert result.exit_code == 0, result.output
    assert "Eval scripted: 5/13 passed" in result.stdout


def test_json_dash_writes_the_report_on_stdout_for_scripts(suite: Suite, service) -> None:  # noqa: F811
    url, _ = service
    result = invoke(suite.path, "--url", url, "--key", "chan-key", "--json", "-")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["metrics"]["passed"] == 5


def test_fail_under_exits_1_when_a_metric_is_below_its_threshold(suite: Suite, service) -> None:  # noqa: F811
    url, _ = service
    result = invoke(suite.path, "--url", url, "--key", "chan-key", "--fail-under", "accuracy=0.9",
                    "--fail-under", "citation_recall=0.5")
    assert result.exit_code == 1
    assert "gate failed: accuracy = 0.3846, below 0.9" in result.stderr


def test_fail_under_exits_0_when_every_threshold_is_met(suite: Suite, service, tmp_path: Path) -> None:  # noqa: F811
    url, _ = service
    result = invoke(suite.path, "--url", url, "--key", "chan-key", "--fail-under", "accuracy=0.3",
                    "--json", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["gate"]["passed"] is True


def test_an_unknown_metric_exits_2_before_any_message_is_sent(suite: Suite, service) -> None:  # noqa: F811
    url, handler = service
    result = invoke(suite.path, "--url", url, "--key", "chan-key", "--fail-under", "acuracy=0.8")
    assert result.exit_code == 2
    assert "unknown metric 'acuracy'; valid names: cases, passed, errors, accuracy, c_at_1" in result.stderr
    assert handler.seen_ids == []


def test_an_invalid_suite_exits_2_naming_the_case_and_field(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text("brand: X\n", encoding="utf-8")
    path = tmp_path / "bad.yaml"
    path.write_text("manifest: sources.yaml\ncases:\n  - id: a\n    turns: []\n", encoding="utf-8")
    result = invoke(path, "--url", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert "case 'a' (line 3), field 'turns'" in result.stderr


def test_a_regression_against_a_stored_baseline_fails_the_run(suite: Suite, service, tmp_path: Path) -> None:  # noqa: F811
    url, _ = service
    baseline = tmp_path / "baseline.json"
    assert invoke(suite.path, "--url", url, "--key", "chan-key", "--json", baseline).exit_code == 0
    stored = json.loads(baseline.read_text(encoding="utf-8"))
    for case in stored["cases"]:
        if case["id"] == "sunday-missing-fail":
            case["passed"], case["reasons"] = True, []
    baseline.write_text(json.dumps(stored), encoding="utf-8")

    result = invoke(suite.path, "--url", url, "--key", "chan-key", "--baseline", baseline, "--fail-on-regression")
    assert result.exit_code == 1
    assert "newly failing vs baseline (1): sunday-missing-fail" in result.stdout
    assert "1 case(s) passed in the baseline and fail now: sunday-missing-fail" in result.stderr


def test_an_unchanged_run_against_its_baseline_passes_the_regression_gate(suite: Suite, service, tmp_path: Path) -> None:  # noqa: F811
    url, _ = service
    baseline = tmp_path / "baseline.json"
    assert invoke(suite.path, "--url", url, "--key", "chan-key", "--json", baseline).exit_code == 0
    result = invoke(suite.path, "--url", url, "--key", "chan-key", "--baseline", baseline, "--fail-on-regression")
    assert result.exit_code == 0, result.output
    assert "No case changed outcome since the baseline." in result.stdout


def test_an_unreachable_service_exits_2_with_the_connection_error(suite: Suite) -> None:  # noqa: F811
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = invoke(suite.path, "--url", f"http://127.0.0.1:{port}", "--key", "k")
    assert result.exit_code == 2
    assert "every case failed to run; first error: TargetError: cannot reach" in result.stderr


@pytest.mark.parametrize("args", [["--fail-on-regression"], ["--key", "k"]])
def test_options_that_need_another_option_exit_2(suite: Suite, args: list[str]) -> None:  # noqa: F811
    result = invoke(suite.path, *args)
    assert result.exit_code == 2


def test_eval_help_lists_the_run_and_retrieval_commands() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "run" in result.stdout and "retrieval" in result.stdout
