"""schema.org `openingHoursSpecification` objects → weekly and special hours."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time, timedelta
from typing import Any

from knowledge.errors import HoursFormatError
from knowledge.hours.model import MIDNIGHT, SpecialHours, TimeRange, WeeklyHours, parse_clock, sorted_ranges
from knowledge.text import fold, weekday_abbreviations, weekday_words

_SCHEMA_PREFIXES = ("https://schema.org/", "http://schema.org/", "schema:")
# schema.org names days in English ("Monday", "https://schema.org/Monday"); feeds also write them
# abbreviated or in the brand's language.
_DAY_LOOKUP = {**weekday_abbreviations(), **weekday_words()}
# "23:59" as a closing time is how many sites write "until midnight"; reading it literally
# would report a store as closed for the last minute of every day.
_END_OF_DAY = {time(23, 59)}


def parse_opening_hours_specification(spec: Any) -> tuple[WeeklyHours, list[SpecialHours]]:
    """Weekly and special hours from schema.org OpeningHoursSpecification objects.

    `spec` is one object, a list of them, or a node holding `openingHoursSpecification` and
    `specialOpeningHoursSpecification`. An entry with validFrom/validThrough is special: without
    dayOfWeek it covers every date of its span, with dayOfWeek only the matching dates. Entries
    for the same day are merged (split shifts are two entries); opens == closes == 00:00 means
    closed. Raises ValueError naming the entry that cannot be read.
    """
    entries = _spec_entries(spec)
    weekly: dict[int, list[TimeRange]] = {}
    spans: dict[tuple[date, date], list[TimeRange]] = {}
    for index, entry in enumerate(entries):
        where = f"openingHoursSpecification entry {index + 1}"
        if not isinstance(entry, Mapping):
            raise HoursFormatError(
                f"{where}: expected an object with dayOfWeek/opens/closes, got {type(entry).__name__}"
                f" {entry!r:.60}"
                + (" (an openingHours string? use parse_osm_hours)" if isinstance(entry, str) else "")
            )
        try:
            days = _spec_days(entry.get("dayOfWeek"))
            ranges = _spec_ranges(entry)
            valid = _spec_validity(entry)
        except ValueError as exc:
            raise HoursFormatError(f"{where} ({_brief(entry)}): {exc}") from None
        if days is not None and not days:
            continue  # only PublicHolidays: the calendar of holidays is not part of weekly hours
        if valid is None:
            for day in days if days is not None else range(7):
                weekly.setdefault(day, []).extend(ranges)
        elif days is None:
            spans.setdefault(valid, []).extend(ranges)
        else:
            span_day = valid[0]
            if (valid[1] - valid[0]).days > 366:
                raise HoursFormatError(f"{where}: special hours by weekday over more than a year; split the span")
            while span_day <= valid[1]:
                if span_day.weekday() in days:
                    spans.setdefault((span_day, span_day), []).extend(ranges)
                span_day += timedelta(days=1)
    specials = [SpecialHours(a, b, sorted_ranges(r)) for (a, b), r in sorted(spans.items())]
    return WeeklyHours({d: sorted_ranges(r) for d, r in sorted(weekly.items())}), specials


def _spec_entries(spec: Any) -> list[Any]:
    if isinstance(spec, Mapping) and (
        "openingHoursSpecification" in spec or "specialOpeningHoursSpecification" in spec
    ):
        out: list[Any] = []
        for key in ("openingHoursSpecification", "specialOpeningHoursSpecification"):
            value = spec.get(key)
            out += value if isinstance(value, list) else [value] if value else []
        return out
    if isinstance(spec, list | tuple):
        return list(spec)
    return [spec]


def _spec_days(value: Any) -> set[int] | None:
    """Weekdays of a dayOfWeek value; None when absent (= every day)."""
    if value is None or value == [] or value == "":
        return None
    values = value if isinstance(value, list | tuple) else [value]
    days: set[int] = set()
    for item in values:
        if isinstance(item, Mapping):
            item = item.get("@id") or item.get("@value") or item.get("name") or ""
        name = str(item).strip()
        for prefix in _SCHEMA_PREFIXES:
            name = name.removeprefix(prefix)
        folded = fold(name)
        if folded == "publicholidays":
            continue
        day = _DAY_LOOKUP.get(folded.rstrip("."))
        if day is None:
            raise HoursFormatError(f"dayOfWeek {item!r} is not a day of the week (expected e.g. 'Monday')")
        days.add(day)
    return days


def _spec_ranges(entry: Mapping[str, Any]) -> tuple[TimeRange, ...]:
    opens, closes = entry.get("opens"), entry.get("closes")
    if opens in (None, "") or closes in (None, ""):
        raise HoursFormatError("needs both 'opens' and 'closes' (use 00:00 for both to say closed)")
    start, end = parse_clock(str(opens)), parse_clock(str(closes))
    if start == MIDNIGHT and end == MIDNIGHT and not str(closes).strip().startswith("24"):
        return ()  # schema.org / Google convention: opens = closes = 00:00 means closed all day
    return (TimeRange(start, MIDNIGHT if end in _END_OF_DAY else end),)


def _spec_validity(entry: Mapping[str, Any]) -> tuple[date, date] | None:
    start, end = entry.get("validFrom"), entry.get("validThrough")
    if not start and not end:
        return None
    first = _iso_date(start or end)
    last = _iso_date(end or start)
    if last < first:
        raise HoursFormatError(f"validThrough {end!r} is before validFrom {start!r}")
    return first, last


def _iso_date(value: Any) -> date:
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise HoursFormatError(f"{text!r} is not an ISO date (expected YYYY-MM-DD)") from None


def _brief(entry: Mapping[str, Any]) -> str:
    keys = ("dayOfWeek", "opens", "closes", "validFrom", "validThrough")
    return ", ".join(f"{k}={entry[k]!r}" for k in keys if k in entry) or "empty object"
