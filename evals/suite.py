"""Eval suites: a YAML file (or JSONL cases plus a YAML header) of customer questions and what a
good answer must and must not contain.

YAML: a mapping with `name`, `manifest` (relative to the suite file), optional `now` and
`cases`.  JSONL: one case per line; the header (`name`, `manifest`, `now`) comes from a sibling
`<stem>.suite.yaml`, or from `--manifest`/`--now` on the command line.  See evals/README.md.

Errors name the file, the case id (and line) and the field, so the author can fix the case
without guessing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from evals.errors import SuiteError
from knowledge import YamlSyntaxError, compose_and_load, dotted, error_message

WarningKind = Literal["stale", "expired", "conflict"]
# The agent's fixed list of handoff reasons (agent.reply.HandoffReason), repeated here as data so a
# suite file is validated without importing the agent.
HandoffReasonName = Literal[
    "human_requested",
    "medical",
    "injury",
    "legal",
    "safety",
    "complaint",
    "no_answer",
    "repeated_failure",
    "stale_information",
    "requested_externally",
    "internal_error",
]
CASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


@dataclass(frozen=True)
class Case:
    """One conversation to run and the expectations on its LAST reply."""

    id: str
    turns: tuple[str, ...]
    category: str = "general"
    lang: str | None = None
    expect: tuple[tuple[str, ...], ...] = ()  # every group must match; any alternative within a group
    forbid: tuple[str, ...] = ()
    cite: tuple[str, ...] = ()  # source ids or url fragments; one of them must be cited
    warnings: tuple[str, ...] | None = None  # None: not checked; (): no warning may be raised
    handoff: bool | None = None  # None: see `expected_handoff`
    # Acceptable reasons when a handoff is expected (any one of them); () means any reason.
    handoff_reason: tuple[str, ...] = ()
    unanswerable: bool = False
    now: datetime | None = None
    notes: str | None = None

    @property
    def expected_handoff(self) -> bool | None:
        """True/False when the case says so.  Left out, an answerable case must NOT hand off (a
        handoff on a plain question is a failure), while an unanswerable one may or may not: an
        honest refusal with or without a person offered are both right."""
        if self.handoff is not None:
            return self.handoff
        return None if self.unanswerable else False


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    manifest: Path  # absolute
    now: datetime | None
    cases: list[Case] = field(default_factory=list)

    def case(self, case_id: str) -> Case:
        for case in self.cases:
            if case.id == case_id:
                return case
        raise KeyError(case_id)


# --- validation models (the file boundary) ------------------------------------------------------
def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _as_datetime(value: Any) -> Any:
    # YAML turns an unquoted `2026-11-25` into a date: read it as that day's start.
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value


class _CaseModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=CASE_ID_PATTERN)
    turns: list[str] = Field(min_length=1)
    category: str = Field(default="general", min_length=1)
    lang: str | None = None
    expect: list[list[str]] = Field(default_factory=list)
    forbid: list[str] = Field(default_factory=list)
    cite: list[str] = Field(default_factory=list)
    warnings: list[WarningKind] | None = None
    handoff: bool | None = None
    handoff_reason: list[HandoffReasonName] = Field(default_factory=list)
    unanswerable: bool = False
    now: datetime | None = None
    notes: str | None = None

    @field_validator("turns", "forbid", "cite", "handoff_reason", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("expect", mode="before")
    @classmethod
    def _groups(cls, value: Any) -> Any:
        # `expect: ["chiuso", ["9", "nove"]]`: a bare string is a group of one alternative.
        value = _as_list(value)
        if isinstance(value, list):
            return [_as_list(group) for group in value]
        return value

    @field_validator("now", mode="before")
    @classmethod
    def _day(cls, value: Any) -> Any:
        return _as_datetime(value)

    @field_validator("turns", "forbid", "cite")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        if any(not item.strip() for item in value):
            raise ValueError("empty strings are not allowed (an empty pattern matches every reply)")
        return value

    @field_validator("expect")
    @classmethod
    def _no_blank_group(cls, value: list[list[str]]) -> list[list[str]]:
        for group in value:
            if not group:
                raise ValueError("an expect group needs at least one alternative")
            if any(not item.strip() for item in group):
                raise ValueError("empty strings are not allowed (an empty pattern matches every reply)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> _CaseModel:
        if self.unanswerable and self.cite:
            raise ValueError("an unanswerable case cannot require a citation ('cite')")
        if self.handoff_reason and self.handoff is False:
            raise ValueError("'handoff_reason' needs a handoff; remove it or set 'handoff: true'")
        return self


class _HeaderModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    description: str | None = None
    manifest: str | None = None
    now: datetime | None = None
    cases: list[Any] | None = None

    @field_validator("now", mode="before")
    @classmethod
    def _day(cls, value: Any) -> Any:
        return _as_datetime(value)


# --- loading ------------------------------------------------------------------------------------
def load_suite(
    path: str | Path,
    *,
    manifest: str | Path | None = None,
    now: datetime | None = None,
) -> Suite:
    """Read and validate a suite.  `manifest`/`now` override (or, for JSONL, supply) the header."""
    path = Path(path)
    if not path.is_file():
        raise SuiteError(f"{path}: suite not found")
    if path.suffix.lower() == ".jsonl":
        header, raw_cases, lines = _read_jsonl(path)
    else:
        header, raw_cases, lines = _read_yaml(path)
    return _build(path, header, raw_cases, lines, manifest=manifest, now=now)


def _read_yaml(path: Path) -> tuple[_HeaderModel, list[Any], list[int | None]]:
    text = _read_text(path)
    try:
        node, raw = compose_and_load(text)
    except YamlSyntaxError as exc:
        raise SuiteError(f"{path}{exc}") from exc
    if not isinstance(raw, dict):
        raise SuiteError(f"{path}: expected a mapping with 'name', 'manifest' and 'cases'")
    header = _header(path, raw)
    if not header.cases:
        raise SuiteError(f"{path}: 'cases' is missing or empty; add at least one case")
    return header, header.cases, _case_lines(node, len(header.cases))


def _read_jsonl(path: Path) -> tuple[_HeaderModel, list[Any], list[int | None]]:
    sibling = path.with_name(f"{path.stem}.suite.yaml")
    header = _HeaderModel()
    if sibling.is_file():
        text = _read_text(sibling)
        try:
            raw = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise SuiteError(f"{sibling}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
        if not isinstance(raw, dict):
            raise SuiteError(f"{sibling}: expected a mapping with 'name', 'manifest' and optional 'now'")
        header = _header(sibling, raw)
        if header.cases:
            raise SuiteError(f"{sibling}: a JSONL suite's header must not list cases; put them in {path.name}")
    cases: list[Any] = []
    lines: list[int | None] = []
    for number, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            cases.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path} line {number}: not valid JSON ({exc.msg})") from exc
        lines.append(number)
    if not cases:
        raise SuiteError(f"{path}: no cases; write one JSON object per line")
    return header, cases, lines


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read suite ({exc.strerror})") from exc


def _header(path: Path, raw: dict[str, Any]) -> _HeaderModel:
    try:
        return _HeaderModel.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SuiteError(f"{path}, field '{dotted(first['loc'])}': {error_message(first)}") from exc


def _build(
    path: Path,
    header: _HeaderModel,
    raw_cases: list[Any],
    lines: list[int | None],
    *,
    manifest: str | Path | None,
    now: datetime | None,
) -> Suite:
    manifest_value = manifest if manifest is not None else header.manifest
    if manifest_value is None:
        hint = (
            f"write {path.stem}.suite.yaml next to it with 'name' and 'manifest', or pass --manifest"
            if path.suffix.lower() == ".jsonl"
            else "add 'manifest: path/to/sources.yaml' (relative to the suite file)"
        )
        raise SuiteError(f"{path}: the suite does not name a manifest; {hint}")
    manifest_path = Path(manifest_value)
    if manifest is None and not manifest_path.is_absolute():
        manifest_path = path.parent / manifest_path
    manifest_path = manifest_path.resolve()
    if not manifest_path.is_file():
        raise SuiteError(f"{path}: manifest {manifest_path} not found (paths are relative to the suite file)")

    cases: list[Case] = []
    seen: dict[str, int] = {}
    for index, (raw, line) in enumerate(zip(raw_cases, lines, strict=True)):
        label = _case_label(raw, index, line)
        if not isinstance(raw, dict):
            raise SuiteError(f"{path}: {label}: expected a mapping with 'id', 'turns' and expectations")
        try:
            model = _CaseModel.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise SuiteError(f"{path}: {label}, field '{dotted(first['loc'])}': {error_message(first)}") from exc
        if model.id in seen:
            raise SuiteError(f"{path}: {label}: duplicate id (first used by case #{seen[model.id] + 1})")
        seen[model.id] = index
        cases.append(
            Case(
                id=model.id,
                turns=tuple(model.turns),
                category=model.category,
                lang=model.lang,
                expect=tuple(tuple(group) for group in model.expect),
                forbid=tuple(model.forbid),
                cite=tuple(model.cite),
                warnings=tuple(model.warnings) if model.warnings is not None else None,
                # A reason implies a handoff is expected.
                handoff=True if model.handoff_reason else model.handoff,
                handoff_reason=tuple(model.handoff_reason),
                unanswerable=model.unanswerable,
                now=model.now,
                notes=model.notes,
            )
        )
    return Suite(
        name=header.name or path.stem,
        path=path.resolve(),
        manifest=manifest_path,
        now=now if now is not None else header.now,
        cases=cases,
    )


def _case_label(raw: Any, index: int, line: int | None) -> str:
    where = f" (line {line})" if line else ""
    case_id = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(case_id, str) and case_id:
        return f"case '{case_id}'{where}"
    return f"case #{index + 1}{where}"


def _case_lines(node: yaml.Node | None, count: int) -> list[int | None]:
    """Line of each item of the top-level `cases` sequence, for error messages."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == "cases" and isinstance(value, yaml.SequenceNode):
                found: list[int | None] = [item.start_mark.line + 1 for item in value.value]
                return found + [None] * (count - len(found))
    return [None] * count


