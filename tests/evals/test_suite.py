"""Loading suites: YAML or JSONL with a header, and errors that name the case and the field."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from evals.errors import SuiteError
from evals.suite import load_suite


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "brand").mkdir()
    (tmp_path / "brand" / "sources.yaml").write_text("brand: X\n", encoding="utf-8")
    return tmp_path


def _write(folder: Path, text: str, name: str = "suite.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_suite_loads_cases_with_defaults_and_the_manifest_relative_to_the_suite(folder: Path) -> None:
    path = _write(folder, """
name: demo
manifest: brand/sources.yaml
now: "2026-11-25T10:00:00+01:00"
cases:
  - id: a
    turns: "Siete aperti?"
    expect: ["aperto", ["9", "nove"]]
    cite: stores
  - id: b
    turns: ["Biglietti per Marte?"]
    unanswerable: true
""")
    suite = load_suite(path)
    assert suite.name == "demo"
    assert suite.manifest == (folder / "brand" / "sources.yaml").resolve()
    assert suite.now == datetime.fromisoformat("2026-11-25T10:00:00+01:00")
    first, second = suite.cases
    assert first.turns == ("Siete aperti?",)
    assert first.expect == (("aperto",), ("9", "nove"))
    assert first.cite == ("stores",)
    assert (first.category, first.warnings, first.expected_handoff) == ("general", None, False)
    assert second.expected_handoff is None


def test_an_invalid_field_is_reported_with_the_case_id_line_and_field(folder: Path) -> None:
    path = _write(folder, """
manifest: brand/sources.yaml
cases:
  - id: ok
    turns: ["ciao"]
  - id: hours-torino
    turns: ["Aperti domenica?"]
    warnings: ["old"]
""")
    with pytest.raises(SuiteError) as error:
        load_suite(path)
    message = str(error.value)
    assert "case 'hours-torino' (line 6)" in message
    assert "field 'warnings[0]'" in message
    assert "'stale', 'expired' or 'conflict'" in message


def test_an_unknown_key_in_a_case_is_an_error_not_silently_ignored(folder: Path) -> None:
    path = _write(folder, "manifest: brand/sources.yaml\ncases:\n  - id: a\n    turns: [x]\n    expects: [y]\n")
    with pytest.raises(SuiteError, match=r"case 'a' \(line 3\), field 'expects': Extra inputs are not permitted"):
        load_suite(path)


def test_duplicate_case_ids_are_rejected(folder: Path) -> None:
    path = _write(folder, "manifest: brand/sources.yaml\ncases:\n  - {id: a, turns: [x]}\n  - {id: a, turns: [y]}\n")
    with pytest.raises(SuiteError, match=r"case 'a' \(line 4\): duplicate id \(first used by case #1\)"):
        load_suite(path)


def test_an_empty_alternative_is_rejected_because_it_would_match_every_reply(folder: Path) -> None:
    path = _write(folder, "manifest: brand/sources.yaml\ncases:\n  - {id: a, turns: [x], expect: [['ok', ' ']]}\n")
    with pytest.raises(SuiteError, match="field 'expect': empty strings are not allowed"):
        load_suite(path)


def test_a_missing_manifest_is_named_with_the_path_it_was_looked_for_at(folder: Path) -> None:
    path = _write(folder, "manifest: nowhere/sources.yaml\ncases:\n  - {id: a, turns: [x]}\n")
    with pytest.raises(SuiteError, match="nowhere/sources.yaml not found"):
        load_suite(path)


def test_jsonl_cases_take_their_header_from_the_sibling_suite_yaml(folder: Path) -> None:
    lines = [{"id": "a", "turns": ["ciao"], "lang": "it"}, {"id": "b", "turns": ["hi"], "lang": "en"}]
    path = _write(folder, "\n".join(json.dumps(line) for line in lines) + "\n", "smoke.jsonl")
    _write(folder, "name: smoke-test\nmanifest: brand/sources.yaml\n", "smoke.suite.yaml")
    suite = load_suite(path)
    assert suite.name == "smoke-test"
    assert [case.id for case in suite.cases] == ["a", "b"]


def test_jsonl_without_a_header_names_both_ways_to_give_one(folder: Path) -> None:
    path = _write(folder, json.dumps({"id": "a", "turns": ["x"]}) + "\n", "smoke.jsonl")
    with pytest.raises(SuiteError, match=r"write smoke.suite.yaml .* or pass --manifest"):
        load_suite(path)
    suite = load_suite(path, manifest=folder / "brand" / "sources.yaml")
    assert suite.name == "smoke"


def test_a_bad_jsonl_line_is_reported_with_its_line_number(folder: Path) -> None:
    path = _write(folder, '{"id": "a", "turns": ["x"]}\n{"id": "b", \n', "smoke.jsonl")
    with pytest.raises(SuiteError, match="smoke.jsonl line 2: not valid JSON"):
        load_suite(path, manifest=folder / "brand" / "sources.yaml")
