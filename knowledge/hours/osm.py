"""OSM / schema.org `openingHours` strings ("Mo-Fr 09:00-19:30; Su off") → weekly hours."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta

import opening_hours

from knowledge.errors import HoursFormatError
from knowledge.hours.model import MIDNIGHT, TimeRange, WeeklyHours, sorted_ranges
from knowledge.hours.prose import parse_hours_text

# The library evaluates a whole expression (rules, overrides, "off", "24/7", comments); reading
# one concrete week back out of it keeps the weekly model simple. Rules that depend on the
# date (months, holidays) are resolved for the chosen week, so callers who care pass the week
# they are answering for. Without a country no public holidays apply (PH rules are ignored).
_REFERENCE_MONDAY = date(2024, 3, 11)


def parse_osm_hours(value: str | Sequence[str], *, week_of: date | None = None) -> WeeklyHours:
    """Weekly hours from an OSM / schema.org openingHours value ("Mo-Fr 09:00-19:30; Su off" or
    a list of such rules). Falls back to the prose parser for near-misses ("Mo-Fr 9am-6pm");
    raises ValueError when neither can read it."""
    text = "; ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
    text = text.strip()
    if not text:
        raise HoursFormatError("empty openingHours value")
    try:
        expression = opening_hours.OpeningHours(text, auto_country=False, auto_timezone=False)
    # The package's generated stub (pyo3_stub_gen) leaves out ParserError, which it raises at runtime.
    except (opening_hours.ParserError, SyntaxError, ValueError) as exc:  # type: ignore[attr-defined]
        fallback = parse_hours_text(text)
        if fallback is None:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HoursFormatError(
                f"openingHours {text!r} is not valid OSM/schema.org syntax ({first_line})"
            ) from None
        return fallback
    reference = week_of or _REFERENCE_MONDAY
    monday = reference - timedelta(days=reference.weekday())
    # Start a day early and end a day late so overnight ranges at the week's edges are seen.
    start = datetime.combine(monday - timedelta(days=1), MIDNIGHT)
    end = datetime.combine(monday + timedelta(days=8), MIDNIGHT)
    pieces: dict[date, list[tuple[time, time | None]]] = {}
    unknown: set[date] = set()
    for begin, finish, state, _comment in expression.intervals(start, end):
        if state == opening_hours.State.UNKNOWN:
            unknown.update(_days_touched(begin, finish))
        if state != opening_hours.State.OPEN:
            continue
        cursor = begin
        while cursor < finish:
            midnight = datetime.combine(cursor.date() + timedelta(days=1), MIDNIGHT)
            piece_end = min(finish, midnight)
            pieces.setdefault(cursor.date(), []).append(
                (cursor.time(), None if piece_end == midnight else piece_end.time())
            )
            cursor = piece_end
    days: dict[int, tuple[TimeRange, ...]] = {}
    for offset in range(7):
        day = monday + timedelta(days=offset)
        ranges = []
        for opens, closes in pieces.get(day, []):
            if (
                opens == MIDNIGHT
                and _runs_to_midnight(pieces, day - timedelta(days=1))
                and closes is not None
            ):
                continue  # the tail of yesterday's overnight range, kept on yesterday
            if closes is None and opens != MIDNIGHT:
                tail = next((c for o, c in pieces.get(day + timedelta(days=1), []) if o == MIDNIGHT), None)
                if tail is not None:
                    ranges.append(TimeRange(opens, tail))  # overnight: 22:00–02:00
                    continue
            ranges.append(TimeRange(opens, closes or MIDNIGHT))
        if ranges or day not in unknown:
            days[day.weekday()] = sorted_ranges(ranges)
    return WeeklyHours(dict(sorted(days.items())))


def _runs_to_midnight(pieces: Mapping[date, list[tuple[time, time | None]]], day: date) -> bool:
    return any(closes is None and opens != MIDNIGHT for opens, closes in pieces.get(day, []))


def _days_touched(begin: datetime, finish: datetime) -> set[date]:
    out, day = set(), begin.date()
    while datetime.combine(day, MIDNIGHT) < finish:
        out.add(day)
        day += timedelta(days=1)
    return out
