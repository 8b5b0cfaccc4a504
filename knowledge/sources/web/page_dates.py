"""When was a web page last updated? Pick the best evidence a page offers, and say which it was.

Evidence order follows `knowledge.documents.EVIDENCE_ORDER`: what the publisher states about the
content (JSON-LD dateModified, then a visible "updated on" line) beats what the server or the
sitemap says about the file, which beats the first publication date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

from knowledge.text import DATE_AT_START, MONTH_NUMBERS, UPDATE_STATEMENT

# Numeric dates are read day-first (the European order) unless the page says it is US English.
_MONTH_FIRST_LANGS = {"en-us"}
_OLDEST_PLAUSIBLE_YEAR = 1995


def page_updated_at(
    jsonld: list[dict[str, Any]],
    text: str,
    sitemap_lastmod: datetime | None,
    last_modified_header: str | None,
    lang: str,
    tz: ZoneInfo,
) -> tuple[datetime | None, str]:
    """The page's last-update time (tz-aware, UTC) and the name of the evidence it came from.

    Dates without a zone are read in the brand's zone `tz`. When a kind of evidence appears more
    than once (several JSON-LD nodes, several "updated" lines) the latest wins.
    """
    month_first = lang.lower() in _MONTH_FIRST_LANGS
    candidates: list[tuple[str, Iterable[datetime | None]]] = [
        ("jsonld:dateModified", (_parse_any(v, tz, month_first) for v in _values(jsonld, "dateModified"))),
        ("page:visible_date", visible_dates(text, tz, month_first=month_first)),
        ("sitemap:lastmod", [_aware(sitemap_lastmod, tz) if sitemap_lastmod else None]),
        ("http:last-modified", [_http_date(last_modified_header)]),
        ("jsonld:datePublished", (_parse_any(v, tz, month_first) for v in _values(jsonld, "datePublished"))),
    ]
    for evidence, found in candidates:
        dates = [d for d in found if d is not None and d.year >= _OLDEST_PLAUSIBLE_YEAR]
        if dates:
            return max(dates), evidence
    return None, "none"


def visible_dates(text: str, tz: ZoneInfo, *, month_first: bool = False) -> list[datetime]:
    """Every "updated on <date>" statement in `text`, Italian or English, as UTC datetimes."""
    out = []
    for match in UPDATE_STATEMENT.finditer(text):
        parsed = _from_match(match, tz, month_first)
        if parsed is not None:
            out.append(parsed)
    return out


def _from_match(m: re.Match[str], tz: ZoneInfo, month_first: bool) -> datetime | None:
    g = m.groupdict()
    try:
        if g["iso"]:
            hour, minute = int(g["ih"] or 0), int(g["imin"] or 0)
            local = datetime(int(g["iy"]), int(g["im"]), int(g["id"]), hour, minute)
        elif g["num"]:
            first, second, year = int(g["n1"]), int(g["n2"]), _year(g["ny"])
            day, month = (second, first) if month_first else (first, second)
            if month > 12 and day <= 12:  # 10/25/2024 can only be month-first
                day, month = month, day
            local = datetime(year, month, day)
        elif g["dmy"]:
            local = datetime(int(g["dy"]), MONTH_NUMBERS[g["dm"].lower()], int(g["dd"]))
        elif g["mdy"]:
            local = datetime(int(g["my"]), MONTH_NUMBERS[g["mm"].lower()], int(g["md"]))
        else:
            local = datetime(int(g["oy"]), MONTH_NUMBERS[g["om"].lower()], 1)
    except ValueError:
        return None
    return _aware(local, tz)


def _year(text: str) -> int:
    return int(text) + 2000 if len(text) == 2 else int(text)


def _parse_any(value: Any, tz: ZoneInfo, month_first: bool) -> datetime | None:
    """A JSON-LD date: ISO 8601 as the spec asks, or a human date some sites put there instead."""
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip()
    try:
        return _aware(datetime.fromisoformat(raw), tz)
    except ValueError:
        pass
    match = DATE_AT_START.match(raw)
    return _from_match(match, tz, month_first) if match else None


def _http_date(header: str | None) -> datetime | None:
    if not header:
        return None
    try:
        parsed = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    # HTTP dates are always GMT (RFC 9110 §5.6.7), even when the zone is written as -0000.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _aware(value: datetime | date, tz: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _values(nodes: Any, key: str) -> Iterator[Any]:
    """Every value of `key` anywhere in a JSON-LD tree (nested nodes and lists included)."""
    if isinstance(nodes, dict):
        for k, v in nodes.items():
            if k == key:
                yield from (v if isinstance(v, list) else [v])
            else:
                yield from _values(v, key)
    elif isinstance(nodes, list):
        for item in nodes:
            yield from _values(item, key)
