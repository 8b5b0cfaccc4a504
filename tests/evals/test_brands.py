"""Every brand's suite, in-process through the real agent (offline), against its stored baseline:
a case that passed there and fails now, or a drop in handoff or warning precision or recall,
fails CI. Brands in evals/brands were written blind (see their TRAPS.md); refresh a baseline
with `make baselines` and commit it with the change that moved it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evals import (
    Runner,
    baseline_path,
    build_report,
    check_regression,
    in_process_target,
    load_suite,
    score_all,
)
from sportello.settings import Settings
from tests.conftest import ROOT

SUITES = sorted(p for p in (ROOT / "evals" / "suites").glob("*.yaml") if p.stem != "demo")  # demo: test_demo.py


@pytest.mark.slow
@pytest.mark.parametrize("suite_path", SUITES, ids=[p.stem for p in SUITES])
def test_the_brand_suite_does_not_regress_from_its_baseline(suite_path: Path, tmp_path: Path) -> None:
    suite = load_suite(suite_path)
    settings = Settings(data_dir=tmp_path, llm_base_url=None, llm_model=None, embedding_base_url=None)
    target = in_process_target(suite, settings, data_dir=tmp_path / suite.name)
    report = build_report(suite, score_all(Runner(target).run(suite)), run_at=datetime.now(UTC), target=target.description)
    assert report["metrics"]["errors"] == 0
    baseline = json.loads(baseline_path(suite.name).read_text(encoding="utf-8"))

    result = check_regression(report, baseline)

    assert result.passed, result.describe()
