"""Rows of a feed file (CSV/TSV, JSON or YAML list, XML items) with their place in the file, and
the cell values they share: dates, links, slugs and plain text.

Every row knows where it came from ("faq.csv line 7"), so a parser can say exactly what to fix.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from email.utils import parsedate_to_datetime
from html import unescape
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml

from knowledge.errors import FeedProblem

_DELIMITERS = (",", ";", "\t", "|")
_DAY_FIRST_FORMATS = (
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d-%m-%Y",
    "%d-%m-%Y %H:%M",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%d/%m/%y",
)


@dataclass(frozen=True)
class Row:
    where: str  # "faq.csv line 7", "faq.json entry 3", "feed.xml item 2"
    noun: str  # "column", "field" or "element": what the person calls a value in this format
    fields: dict[str, str]  # canonical column name → raw text

    def value(self, column: str) -> str:
        return (self.fields.get(column) or "").strip()

    def required(self, column: str, hint: str) -> str:
        value = self.value(column)
        if not value:
            state = "is empty" if column in self.fields else "is missing"
            raise self.problem(column, f"{state} — {hint}")
        return value

    def problem(self, column: str, message: str) -> FeedProblem:
        return FeedProblem(f"{self.where}: {self.noun} '{column}' {message}")


@dataclass(frozen=True)
class Table:
    name: str
    noun: str
    found: tuple[str, ...]  # column names as written in the file, for error messages
    columns: frozenset[str]  # canonical names
    rows: list[Row]

    def require_columns(self, *columns: str) -> None:
        for column in columns:
            if column not in self.columns:
                found = ", ".join(self.found) or "nothing"
                raise FeedProblem(f"{self.name}: missing required {self.noun} '{column}' (found: {found})")


def column_key(header: str, aliases: Mapping[str, str]) -> str:
    """Canonical name of a header: case and spacing ignored, Merchant Center's 'g:' prefix dropped."""
    key = _column_key(header)
    return aliases.get(key, key)


def _column_key(header: str) -> str:
    key = re.sub(r"[\s\-]+", "_", header.strip().lstrip("\ufeff").strip().lower())
    return key.removeprefix("g:")


def csv_table(text: str, name: str, aliases: Mapping[str, str]) -> Table:
    """Rows of a CSV/TSV text.  The delimiter is the one most used in the header line, so ',', ';'
    (Excel in Italian locales) and tab (Merchant Center) all work without configuration."""
    header_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(_DELIMITERS, key=header_line.count)
    if header_line.count(delimiter) == 0:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    columns: list[str] = []
    rows: list[Row] = []
    end = 0
    try:
        for values in reader:
            start, end = end + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            if header is None:
                header = [v.strip().lstrip("\ufeff").strip() for v in values]
                columns = [column_key(h, aliases) if h else "" for h in header]
                _refuse_duplicate_columns(name, header, columns)
                continue
            if len(values) > len(header) and any(v.strip() for v in values[len(header) :]):
                raise FeedProblem(
                    f"{name} line {start}: {len(values)} values but the header has {len(header)} columns"
                    f" — put quotes around values that contain '{_printable(delimiter)}'"
                )
            fields = {col: (values[i] if i < len(values) else "") for i, col in enumerate(columns) if col}
            rows.append(Row(f"{name} line {start}", "column", fields))
    except csv.Error as exc:
        raise FeedProblem(
            f"{name} line {reader.line_num}: not valid CSV ({exc}) — check the quotes around this line"
        ) from None
    return Table(name, "column", tuple(header or ()), frozenset(c for c in columns if c), rows)


def _printable(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else delimiter


def _refuse_duplicate_columns(name: str, header: list[str], columns: list[str]) -> None:
    seen: dict[str, str] = {}
    for written, column in zip(header, columns, strict=True):
        if not column:
            continue
        if column in seen:
            raise FeedProblem(
                f"{name}: column '{column}' appears twice (as '{seen[column]}' and '{written}') — keep one"
            )
        seen[column] = written


def json_table(text: str, name: str, aliases: Mapping[str, str]) -> Table:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedProblem(invalid_json(name, exc)) from None
    entries = _entry_list(value, name)
    return _structured_table(
        entries, [f"{name} entry {i}" for i in range(1, len(entries) + 1)], name, aliases
    )


def invalid_json(name: str, exc: json.JSONDecodeError) -> str:
    return f"{name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"


def yaml_table(text: str, name: str, aliases: Mapping[str, str]) -> Table:
    try:
        node = yaml.compose(text)
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise FeedProblem(f"{name}: invalid YAML{at}: {getattr(exc, 'problem', None) or exc}") from None
    entries = _entry_list(value, name)
    lines = _entry_lines(node, value)
    where = [f"{name} line {line}" if line else f"{name} entry {i}" for i, line in enumerate(lines, start=1)]
    return _structured_table(entries, where, name, aliases)


def _entry_list(value: Any, name: str) -> list[Any]:
    """The list of entries: the document itself, or the one list an object holds ({"faq": [...]})."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
    raise FeedProblem(f"{name}: expected a list of entries (or an object holding one list of entries)")


def _entry_lines(node: yaml.Node | None, value: Any) -> list[int | None]:
    if isinstance(node, yaml.MappingNode):
        node = next((v for _, v in node.value if isinstance(v, yaml.SequenceNode)), None)
    if not isinstance(node, yaml.SequenceNode):
        return [None] * len(_entry_list(value, ""))
    return [item.start_mark.line + 1 for item in node.value]


def _structured_table(entries: list[Any], where: list[str], name: str, aliases: Mapping[str, str]) -> Table:
    rows: list[Row] = []
    found: dict[str, None] = {}
    for entry, place in zip(entries, where, strict=True):
        if not isinstance(entry, dict):
            raise FeedProblem(f"{place}: expected an object with named fields, found {type(entry).__name__}")
        fields: dict[str, str] = {}
        for raw_key, raw_value in entry.items():
            found.setdefault(str(raw_key), None)
            key = column_key(str(raw_key), aliases)
            if isinstance(raw_value, (list, dict)):
                raise FeedProblem(
                    f"{place}: field '{raw_key}' must be text, not a {type(raw_value).__name__}"
                )
            fields[key] = _scalar_text(raw_value)
        rows.append(Row(place, "field", fields))
    columns = frozenset(key for row in rows for key in row.fields)
    return Table(name, "field", tuple(found), columns, rows)


def _scalar_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):  # YAML reads 2024-05-01 as a date
        return value.isoformat()
    return str(value)


def parse_feed_date(value: str, tz: tzinfo) -> datetime:
    """ISO 8601 date or datetime, dd/mm/yyyy (Italian spreadsheets), or an RFC 822 date (RSS).
    A value without a zone is brand-local time; the result is always timezone-aware."""
    text = value.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        for fmt in _DAY_FIRST_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            raise FeedProblem(f"is not a date ({text!r}) — write it as YYYY-MM-DD or DD/MM/YYYY") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def resolve_link(value: str, base: str | None) -> str | None:
    """An absolute http(s) URL for a link cell, resolved against the source's base URL."""
    text = value.strip()
    if not text:
        return None
    scheme = urlsplit(text).scheme.lower()
    if scheme in ("http", "https"):
        return text
    if scheme:
        raise FeedProblem(f"is not a web address ({text!r}) — use an http(s) URL")
    if base is None:
        raise ValueError(
            f"is a relative address ({text!r}) and the source has no base_url — add base_url to the source"
            " in the manifest or write the full URL"
        )
    return urljoin(base, text)


_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
_BREAK = re.compile(r"<\s*(?:br|/p|/div|/li|/h[1-6]|/tr|/ul|/ol)\b[^>]*>", re.IGNORECASE)
_ITEM = re.compile(r"<\s*li\b[^>]*>", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+\d*);", re.IGNORECASE)


def plain_text(value: str) -> str:
    """Feed cells often carry HTML (answers and product descriptions pasted from a CMS): keep the
    words and the line breaks, drop the markup."""
    text = value
    if _TAG.search(text):
        text = _TAG.sub("", _ITEM.sub("\n- ", _BREAK.sub("\n", text)))
    if _ENTITY.search(text):
        text = unescape(text)
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
