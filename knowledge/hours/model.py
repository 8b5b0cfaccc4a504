"""Opening hours: one model for every way a brand publishes them, and "is it open at …".

Hours arrive as prose on store pages and FAQs ("lun–ven 9:00–19:30, domenica chiuso"), as
OSM / schema.org `openingHours` strings ("Mo-Fr 09:00-19:30; Su off") and as schema.org
`openingHoursSpecification` objects. All three become a `WeeklyHours` plus a list of
`SpecialHours` (holidays, seasonal dates); `status_at` answers the customer's question for a
moment in the store's timezone.

Conventions of the model:
- weekdays are 0=Monday … 6=Sunday (like `date.weekday()`);
- in `WeeklyHours.days` a missing weekday means *unknown*, an empty tuple means *closed*;
- a `TimeRange` whose `closes` is not after `opens` ends on the next day: `closes=time(0)` is
  midnight (24:00), `22:00–02:00` runs overnight and `00:00–00:00` is open all day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import opening_hours

from knowledge.text import fold

Rule = Literal["special", "regular", "unknown"]

WEEKDAY_NAMES: dict[str, list[str]] = {
    "it": ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
_JSON_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_LOOKAHEAD_DAYS = 14
MIDNIGHT = time(0)


# --- model ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimeRange:
    """One opening interval of a day; see the module docstring for overnight and midnight."""

    opens: time
    closes: time

    @property
    def ends_next_day(self) -> bool:
        return self.closes <= self.opens

    @property
    def all_day(self) -> bool:
        return self.opens == MIDNIGHT and self.closes == MIDNIGHT

    def to_dict(self) -> dict[str, str]:
        return {"opens": _hhmm(self.opens), "closes": _hhmm(self.closes, closing=True)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimeRange:
        return cls(_clock(str(data["opens"])), _clock(str(data["closes"])))


@dataclass(frozen=True)
class WeeklyHours:
    """Regular hours by weekday (0=Monday). Missing day = unknown; empty tuple = closed."""

    days: dict[int, tuple[TimeRange, ...]]

    def __post_init__(self) -> None:
        bad = [day for day in self.days if day not in range(7)]
        if bad:
            raise ValueError(f"weekday keys must be 0 (Monday) … 6 (Sunday), got {bad}")

    def to_dict(self) -> dict[str, list[dict[str, str]]]:
        return {_JSON_DAYS[day]: [r.to_dict() for r in ranges] for day, ranges in sorted(self.days.items())}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WeeklyHours:
        days: dict[int, tuple[TimeRange, ...]] = {}
        for key, ranges in data.items():
            day = int(key) if str(key).isdigit() else _JSON_DAYS.index(str(key).lower())
            days[day] = tuple(TimeRange.from_dict(r) for r in ranges)
        return cls(days)


@dataclass(frozen=True)
class SpecialHours:
    """Hours that replace the regular ones on every date from `valid_from` to `valid_through`
    inclusive (a holiday, a Sunday opening before Christmas). Empty `ranges` = closed."""

    valid_from: date
    valid_through: date
    ranges: tuple[TimeRange, ...]

    def __post_init__(self) -> None:
        if self.valid_through < self.valid_from:
            raise ValueError(
                f"special hours end ({self.valid_through}) before they start ({self.valid_from})"
            )

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_through

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid_from": self.valid_from.isoformat(),
            "valid_through": self.valid_through.isoformat(),
            "ranges": [r.to_dict() for r in self.ranges],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpecialHours:
        return cls(
            date.fromisoformat(str(data["valid_from"])),
            date.fromisoformat(str(data["valid_through"])),
            tuple(TimeRange.from_dict(r) for r in data.get("ranges", [])),
        )


@dataclass(frozen=True)
class OpenStatus:
    """Whether a store is open at a moment.

    When open, `closes_at` is when this opening ends (None if it stays open for the whole
    look-ahead) and `next_opens_at` the opening after that; when closed, `next_opens_at` is the
    next opening within 14 days. `rule` says what decided the answer; with "unknown" nobody
    published hours for that day and `is_open` is False only for lack of evidence.
    """

    is_open: bool
    closes_at: datetime | None
    next_opens_at: datetime | None
    rule: Rule
    ranges_today: tuple[TimeRange, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "is_open": self.is_open,
            "closes_at": self.closes_at.isoformat() if self.closes_at else None,
            "next_opens_at": self.next_opens_at.isoformat() if self.next_opens_at else None,
            "rule": self.rule,
            "ranges_today": [r.to_dict() for r in self.ranges_today],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OpenStatus:
        return cls(
            is_open=bool(data["is_open"]),
            closes_at=datetime.fromisoformat(data["closes_at"]) if data.get("closes_at") else None,
            next_opens_at=datetime.fromisoformat(data["next_opens_at"])
            if data.get("next_opens_at")
            else None,
            rule=data["rule"],
            ranges_today=tuple(TimeRange.from_dict(r) for r in data.get("ranges_today", [])),
        )


def _hhmm(value: time, *, closing: bool = False) -> str:
    if closing and value == MIDNIGHT:
        return "24:00"
    return f"{value.hour:02d}:{value.minute:02d}"


def _clock(text: str) -> time:
    """'9:00', '09:00', '09:00:00', '24:00' (→ midnight) or '09:00:00+01:00' (offset ignored)."""
    match = re.fullmatch(r"\s*(\d{1,2})[:.](\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?\s*", text)
    if not match:
        raise ValueError(f"{text!r} is not a time of day (expected HH:MM)")
    hour, minute = int(match[1]), int(match[2])
    if hour == 24 and minute == 0:
        return MIDNIGHT
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r} is not a time of day (expected HH:MM)")
    return time(hour, minute)


# --- "is it open" ----------------------------------------------------------------------------
def hours_on(
    weekly: WeeklyHours | None, specials: Sequence[SpecialHours], day: date
) -> tuple[tuple[TimeRange, ...] | None, Rule]:
    """The ranges that start on `day` and the rule that gave them; (None, "unknown") if nobody said."""
    covering = [s for s in specials if s.covers(day)]
    if covering:
        # The narrowest date span is the most specific statement (a single holiday inside a
        # seasonal period).
        best = min(covering, key=lambda s: s.valid_through - s.valid_from)
        return _sorted(best.ranges), "special"
    if weekly is not None and day.weekday() in weekly.days:
        return _sorted(weekly.days[day.weekday()]), "regular"
    return None, "unknown"


def status_at(weekly: WeeklyHours | None, specials: Sequence[SpecialHours], at: datetime) -> OpenStatus:
    """Open or closed at `at` (tz-aware, store timezone), until when, and when it next opens.

    All arithmetic is on local wall-clock dates and times, turned into aware datetimes only at
    the end, so a day is a calendar day even when it has 23 or 25 hours (DST changes).
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("status_at needs a timezone-aware datetime in the store's timezone")
    tz = at.tzinfo
    local = at.replace(tzinfo=None)
    today = local.date()
    ranges_today, rule_today = hours_on(weekly, specials, today)

    current = [
        (start, end, rule)
        for start, end, rule in _intervals(weekly, specials, today - timedelta(days=1), today)
        if start <= local < end
    ]
    if current:
        end = max(e for _, e, _ in current)
        rule = next(r for s, e, r in current if e == end)
        end = _extend(weekly, specials, end, limit=local + timedelta(days=_LOOKAHEAD_DAYS))
        closes_at = None if end is None else _aware(end, tz)
        reopens = None if end is None else _next_start(weekly, specials, end, today)
        return OpenStatus(True, closes_at, reopens and _aware(reopens, tz), rule, ranges_today or ())
    nxt = _next_start(weekly, specials, local, today)
    return OpenStatus(False, None, nxt and _aware(nxt, tz), rule_today, ranges_today or ())


def _intervals(
    weekly: WeeklyHours | None, specials: Sequence[SpecialHours], first: date, last: date
) -> Iterable[tuple[datetime, datetime, Rule]]:
    """Naive local (start, end, rule) of every range starting on days first … last."""
    day = first
    while day <= last:
        ranges, rule = hours_on(weekly, specials, day)
        for r in ranges or ():
            start = datetime.combine(day, r.opens)
            end_day = day + timedelta(days=1) if r.ends_next_day else day
            yield start, datetime.combine(end_day, r.closes), rule
        day += timedelta(days=1)


def _extend(
    weekly: WeeklyHours | None, specials: Sequence[SpecialHours], end: datetime, *, limit: datetime
) -> datetime | None:
    """Follow back-to-back ranges (22:00–24:00 then 00:00–02:00); None if still open at `limit`."""
    while end < limit:
        later = [e for s, e, _ in _intervals(weekly, specials, end.date() - timedelta(days=1), end.date())
                 if s <= end < e]  # fmt: skip
        if not later:
            return end
        end = max(later)
    return None


def _next_start(
    weekly: WeeklyHours | None, specials: Sequence[SpecialHours], after: datetime, today: date
) -> datetime | None:
    starts = [
        s
        for s, _, _ in _intervals(weekly, specials, after.date(), today + timedelta(days=_LOOKAHEAD_DAYS))
        if s > after
    ]
    return min(starts, default=None)


def _aware(local: datetime, tz: Any) -> datetime:
    # Round-trip through UTC so a wall time inside a spring-forward gap (02:30) comes back as
    # the real instant (03:30 summer time) and the offset is the one in force at that moment.
    return local.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def _sorted(ranges: Iterable[TimeRange]) -> tuple[TimeRange, ...]:
    return tuple(sorted(set(ranges), key=lambda r: (r.opens, r.closes == MIDNIGHT, r.closes)))


# --- rendering -------------------------------------------------------------------------------
_WORDS = {
    "it": {"and": "e", "closed": "chiuso", "unknown": "orario non disponibile", "all_day": "aperto 24 ore",
           "every_day": "tutti i giorni"},
    "en": {"and": "and", "closed": "closed", "unknown": "hours not available", "all_day": "open 24 hours",
           "every_day": "every day"},
}  # fmt: skip


def render_ranges(ranges: Sequence[TimeRange] | None, lang: str = "it") -> str:
    """'9:00–12:30 e 15:00–19:30', 'chiuso' / 'closed' (Italian unless lang is 'en')."""
    words = _WORDS["en" if lang == "en" else "it"]
    if ranges is None:
        return words["unknown"]
    if not ranges:
        return words["closed"]
    if len(ranges) == 1 and ranges[0].all_day:
        return words["all_day"]
    parts = [f"{_clock_text(r.opens)}–{_clock_text(r.closes, closing=True)}" for r in _sorted(ranges)]
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} {words['and']} {parts[-1]}"


def render_weekly(weekly: WeeklyHours | None, lang: str = "it") -> str:
    """'lunedì–venerdì 9:00–19:30; sabato 9:00–13:00; domenica chiuso': equal consecutive days
    grouped, unknown days left out."""
    key = "en" if lang == "en" else "it"
    words, names = _WORDS[key], WEEKDAY_NAMES[key]
    if weekly is None or not weekly.days:
        return words["unknown"]
    runs: list[tuple[int, int, tuple[TimeRange, ...]]] = []
    for day in range(7):
        if day not in weekly.days:
            continue
        ranges = _sorted(weekly.days[day])
        if runs and runs[-1][1] == day - 1 and runs[-1][2] == ranges:
            runs[-1] = (runs[-1][0], day, ranges)
        else:
            runs.append((day, day, ranges))
    if len(runs) == 1 and runs[0][:2] == (0, 6):
        return f"{words['every_day']} {render_ranges(runs[0][2], key)}"
    parts = []
    for first, last, ranges in runs:
        if first == last:
            label = names[first]
        elif last == first + 1:
            label = f"{names[first]} {words['and']} {names[last]}"
        else:
            label = f"{names[first]}–{names[last]}"
        parts.append(f"{label} {render_ranges(ranges, key)}")
    return "; ".join(parts)


def _clock_text(value: time, *, closing: bool = False) -> str:
    if closing and value == MIDNIGHT:
        return "24:00"
    return f"{value.hour}:{value.minute:02d}"


# --- schema.org openingHoursSpecification ---------------------------------------------------
_SCHEMA_PREFIXES = ("https://schema.org/", "http://schema.org/", "schema:")
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
            raise ValueError(
                f"{where}: expected an object with dayOfWeek/opens/closes, got {type(entry).__name__}"
                f" {entry!r:.60}"
                + (" (an openingHours string? use parse_osm_hours)" if isinstance(entry, str) else "")
            )
        try:
            days = _spec_days(entry.get("dayOfWeek"))
            ranges = _spec_ranges(entry)
            valid = _spec_validity(entry)
        except ValueError as exc:
            raise ValueError(f"{where} ({_brief(entry)}): {exc}") from None
        if days is not None and not days:
            continue  # only PublicHolidays: the calendar of holidays is not part of weekly hours
        if valid is None:
            for day in days if days is not None else range(7):
                weekly.setdefault(day, []).extend(ranges)
        elif days is None:
            spans.setdefault(valid, []).extend(ranges)
        else:
            day = valid[0]
            if (valid[1] - valid[0]).days > 366:
                raise ValueError(f"{where}: special hours by weekday over more than a year; split the span")
            while day <= valid[1]:
                if day.weekday() in days:
                    spans.setdefault((day, day), []).extend(ranges)
                day += timedelta(days=1)
    specials = [SpecialHours(a, b, _sorted(r)) for (a, b), r in sorted(spans.items())]
    return WeeklyHours({d: _sorted(r) for d, r in sorted(weekly.items())}), specials


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
            raise ValueError(f"dayOfWeek {item!r} is not a day of the week (expected e.g. 'Monday')")
        days.add(day)
    return days


def _spec_ranges(entry: Mapping[str, Any]) -> tuple[TimeRange, ...]:
    opens, closes = entry.get("opens"), entry.get("closes")
    if opens in (None, "") or closes in (None, ""):
        raise ValueError("needs both 'opens' and 'closes' (use 00:00 for both to say closed)")
    start, end = _clock(str(opens)), _clock(str(closes))
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
        raise ValueError(f"validThrough {end!r} is before validFrom {start!r}")
    return first, last


def _iso_date(value: Any) -> date:
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO date (expected YYYY-MM-DD)") from None


def _brief(entry: Mapping[str, Any]) -> str:
    keys = ("dayOfWeek", "opens", "closes", "validFrom", "validThrough")
    return ", ".join(f"{k}={entry[k]!r}" for k in keys if k in entry) or "empty object"


# --- OSM / schema.org openingHours ------------------------------------------------------------
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
        raise ValueError("empty openingHours value")
    try:
        expression = opening_hours.OpeningHours(text, auto_country=False, auto_timezone=False)
    except (opening_hours.ParserError, SyntaxError, ValueError) as exc:
        fallback = parse_hours_text(text)
        if fallback is None:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(
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
            days[day.weekday()] = _sorted(ranges)
    return WeeklyHours(dict(sorted(days.items())))


def _runs_to_midnight(pieces: Mapping[date, list[tuple[time, time | None]]], day: date) -> bool:
    return any(closes is None and opens != MIDNIGHT for opens, closes in pieces.get(day, []))


def _days_touched(begin: datetime, finish: datetime) -> set[date]:
    out, day = set(), begin.date()
    while datetime.combine(day, MIDNIGHT) < finish:
        out.add(day)
        day += timedelta(days=1)
    return out


# --- prose ------------------------------------------------------------------------------------
_DAY_WORDS: dict[str, int] = {}
for _i, _names in enumerate(
    [
        ("lunedi", "monday", "mondays"),
        ("martedi", "tuesday", "tuesdays"),
        ("mercoledi", "wednesday", "wednesdays"),
        ("giovedi", "thursday", "thursdays"),
        ("venerdi", "friday", "fridays"),
        ("sabato", "sabati", "saturday", "saturdays"),
        ("domenica", "domeniche", "sunday", "sundays"),
    ]
):
    _DAY_WORDS.update(dict.fromkeys(_names, _i))
# Abbreviations are also ordinary words ("mar" = March, "su", "we", "sat"): they count as days
# only next to another day or right before hours (see `_read_days`).
_DAY_ABBREVIATIONS: dict[str, int] = {}
for _i, _names in enumerate(
    [
        ("lun", "mon", "mo"),
        ("mar", "tue", "tues", "tu"),
        ("mer", "wed", "weds", "we"),
        ("gio", "thu", "thur", "thurs", "th"),
        ("ven", "fri", "fr"),
        ("sab", "sat", "sa"),
        ("dom", "sun", "su"),
    ]
):
    _DAY_ABBREVIATIONS.update(dict.fromkeys(_names, _i))
_DAY_LOOKUP = {**_DAY_ABBREVIATIONS, **_DAY_WORDS}

_ALL_DAYS = frozenset(range(7))
_DAY_SETS: dict[str, frozenset[int]] = {
    # "Feriali" in Italian law and usage are Monday to Saturday; "festivi" are Sundays and
    # public holidays — the holidays are not weekly hours, so it adds no weekday of its own.
    "giorni feriali": frozenset(range(6)), "feriali": frozenset(range(6)),
    "giorni lavorativi": frozenset(range(5)), "working days": frozenset(range(5)),
    "business days": frozenset(range(5)), "weekdays": frozenset(range(5)),
    "fine settimana": frozenset({5, 6}), "weekends": frozenset({5, 6}), "weekend": frozenset({5, 6}),
    "week-end": frozenset({5, 6}),
    "giorni festivi": frozenset(), "festivi": frozenset(), "festivita": frozenset(),
    "public holidays": frozenset(), "bank holidays": frozenset(), "holidays": frozenset(),
}  # fmt: skip
_EVERY_DAY = (
    r"tutti\s+i\s+giorni|ogni\s+giorno|tutta\s+la\s+settimana|7\s*giorni\s*su\s*7|7\s*/\s*7"
    r"|7\s+days\s+a\s+week|every\s*day|daily|all\s+week(?:\s+long)?"
)
_MONTHS = (
    r"gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre"
    r"|january|february|march|april|may|june|july|august|september|october|november|december"
    r"|gen|feb|mar|apr|mag|giu|lug|ago|set|ott|nov|dic|jan|jun|jul|aug|sep|sept|oct|dec"
)
_MONTHS_FIRST = (
    r"january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)


def _clock_pattern(n: int) -> str:
    return (
        rf"(?:(?P<h{n}>\d{{1,2}})(?:[:.h](?P<m{n}>[0-5]\d))?"
        rf"(?:\s?(?P<ap{n}>[ap]\.?\s?m\.?)(?![a-z]))?"
        rf"|(?P<w{n}>mezzogiorno|mezzanotte|noon|midday|midnight))"
    )


_TOKEN = re.compile(
    "|".join(
        [
            r"(?P<brk>\n[ \t]*\n|[.!?](?=\s+[^\s\d|]))",
            r"(?P<nl>\n)",
            r"(?P<h24>(?:(?P<h24open>open|opened|apert[oaie])\s+)?"
            r"(?:24\s*/\s*7|24\s*ore\s*su\s*24|24\s*(?:ore|hours?)(?:\s+(?:a|al)\s+(?:day|giorno))?"
            r"|h\s?24|24\s?h|round[- ]the[- ]clock|around[- ]the[- ]clock)(?![\d:./a-z]))",
            rf"(?P<every>(?:{_EVERY_DAY})(?![a-z]))",
            r"(?P<date>(?<![\d:./-])(?:\d{4}-\d{2}-\d{2}"
            r"|\d{1,2}(?P<dsep>[/.-])(?:0?[1-9]|[12]\d|3[01])(?P=dsep)(?:\d{4}|\d{2})(?!\d)"
            r"|\d{1,2}/\d{1,2}(?![\d.:])"
            rf"|\d{{1,2}}(?:°|o|st|nd|rd|th)?\s+(?:di\s+|of\s+)?(?:{_MONTHS})(?![a-z])"
            rf"|(?:{_MONTHS_FIRST})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?!\s*[-:.]\s*\d)(?![\d]))(?![a-z\d]))",
            r"(?P<range>(?<![\d./-])(?P<pre>(?:dalle|dalla|dall'|from|ore|h)\s*)?(?:ore\s*)?"
            + _clock_pattern(1)
            + r"\s*(?P<sep>-|/|to|until|till|alle|fino\s+alle)\s*(?:ore\s*)?"
            + _clock_pattern(2)
            + r"(?![\d/]))",
            r"(?P<dayset>(?:"
            + "|".join(sorted((re.escape(k) for k in _DAY_SETS), key=len, reverse=True))
            + r")(?![a-z]))",
            r"(?P<day>(?<![a-z0-9])(?:"
            + "|".join(sorted(_DAY_LOOKUP, key=len, reverse=True))
            + r")(?![a-z])\.?)",
            r"(?P<closed>chius[oaie]|chiusura|closed|riposo|off)(?![a-z])",
            r"(?P<half>mattin[ao]|mattinata|morning|pomeriggio|afternoon|sera|evening)(?![a-z])",
            r"(?P<except>tranne|eccetto|esclus[oaie]|except(?:\s+for|ing)?|excluding|ad\s+eccezione\s+d\w*)(?![a-z])",
            r"(?P<openword>apert[oaie]|apertura|open(?:s|ed)?)(?![a-z])",
            r"(?P<conn>[-,&+/;]|(?:alla|al|a|to|through|thru|till|until|fino\s+al?|e|ed|and|anche|inclus[oa]"
            r"|compres[oa]|including|also)(?![a-z]))",
            r"(?P<word>[a-z'’]+|\d+)",
        ]
    )
)
_FILLERS = frozenset({"il", "lo", "la", "i", "gli", "le", "l'", "dal", "dalla", "da", "dai", "di", "del", "della",
                      "on", "the", "every", "ogni", "from", "nei", "nel"})  # fmt: skip
_RANGE_CONNECTORS = frozenset(
    {"-", "al", "alla", "a", "to", "through", "thru", "till", "until", "fino a", "fino al"}
)
_UNITS = re.compile(
    r"\s*(?:%|€|\$|euro|eur|giorni|gg|days?|ore|hours?|hrs|minuti|min|settimane|weeks?|mesi|months?"
    r"|anni|years?|km|kg|cm|mm|pezzi|pz|persone|people|posti|anni)(?![a-z])"
)
_NOT_24H_BEFORE = re.compile(r"(?:\bin|\bentro|\bwithin|\bper|\bdopo|\bafter)\s*$")


@dataclass
class _Token:
    kind: str
    text: str
    start: int
    end: int
    value: Any = None


@dataclass
class _Group:
    days: set[int]
    ranges: list[TimeRange] = field(default_factory=list)
    closed: bool = False
    closed_halves: set[str] = field(default_factory=set)
    excluded: set[int] = field(default_factory=set)
    partial: list[tuple[frozenset[int], str]] = field(default_factory=list)
    except_mode: bool = False
    last_excluded: frozenset[int] = frozenset()
    half: str | None = None
    invalid: bool = False

    @property
    def has_spec(self) -> bool:
        return bool(self.ranges or self.closed or self.closed_halves)


_SERVICE_SPEED = re.compile(
    r"\b(express|espress\w*|consegn\w*|spedizion\w*|spedit\w*|delivery|deliver\w*|shipping|corriere|courier|"
    r"assistenza|support|help ?desk|reperibil\w*)\b"
)


def parse_hours_text(text: str) -> WeeklyHours | None:
    """Weekly hours written as Italian or English prose, lists or table rows; None if there are none.

    Hours are taken only when tied to days ("sabato 9-13", "Mon–Fri 9am–6pm", "| Lunedì | 9:00 |",
    "tutti i giorni 8-20", "domenica chiuso"); a time with no day nearby (delivery windows,
    "entro le 13") is ignored, and a day followed by a date ("domenica 8 dicembre 10-13") is a
    special opening, not weekly hours. "Aperto 24 ore su 24" with no day means every day.
    Later statements override earlier ones for the same day ("tutti i giorni 9-20, domenica 10-13").
    """
    if not text or not text.strip():
        return None
    folded_text = fold(text)
    tokens = _tokenize(folded_text)
    groups: list[_Group] = []
    cur: _Group | None = None
    prefix: list[TimeRange] = []  # hours written before their days ("dalle 9 alle 19 dal lunedì…")
    pending_closed = False  # "chiuso la domenica", "closed on Sundays"
    clause_open = False  # "aperto"/"open" seen in this clause
    dated = False  # a date earlier on this line: its days are a special opening ("dal 1 dicembre … domenica")
    orphan_24h = False

    def finish(group: _Group | None) -> None:
        if group is None or group.invalid:
            return
        if not group.has_spec and prefix:
            group.ranges = list(prefix)
        if group.has_spec:
            groups.append(group)

    def end_clause() -> None:
        nonlocal cur, prefix, pending_closed, clause_open, orphan_24h, dated
        finish(cur)
        if orphan_24h and clause_open and not groups:
            groups.append(_Group(days=set(_ALL_DAYS), ranges=[TimeRange(MIDNIGHT, MIDNIGHT)]))
        cur, prefix, pending_closed, clause_open, orphan_24h, dated = None, [], False, False, False, False

    def add_ranges(ranges: list[TimeRange], is_24h: bool = False) -> None:
        nonlocal cur, orphan_24h
        if cur is not None and cur.closed and not cur.ranges:
            finish(cur)
            cur = None
        if cur is None:
            prefix.extend(ranges)
            orphan_24h = orphan_24h or is_24h
        else:
            cur.ranges.extend(ranges)
            cur.half = None
            cur.last_excluded = frozenset()

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        kind = tok.kind
        if kind == "brk":
            end_clause()
        elif kind == "nl":
            dated = False
        elif kind in ("day", "dayset", "every"):
            days, strong, j = _read_days(tokens, i)
            if not strong and not _spec_follows(tokens, j):
                i = j
                continue
            if cur is not None and cur.except_mode:
                cur.excluded |= days
                cur.last_excluded = frozenset(days)
                cur.except_mode = False
            else:
                finish(cur)
                cur = _Group(days=set(days), closed=pending_closed, invalid=dated)
                pending_closed = False
            i = j
            continue
        elif kind == "date":
            if cur is not None and not cur.has_spec:
                cur.invalid = True
            pending_closed = False
            prefix = []
            dated = True
        elif kind == "range":
            add_ranges([tok.value])
        elif kind == "h24":
            # "Express 24h", "assistenza 24h": a delivery speed or a service, not opening hours.
            if tok.value or not _SERVICE_SPEED.search(folded_text):
                clause_open = clause_open or tok.value
                add_ranges([TimeRange(MIDNIGHT, MIDNIGHT)], is_24h=True)
        elif kind == "closed":
            if cur is None:
                pending_closed = tok.text != "off"
            elif cur.half is not None:
                cur.closed_halves.add(cur.half)
                cur.half = None
            elif _next_kind(tokens, i + 1) == "half" and cur.ranges:
                cur.closed_halves.add(tokens[_next_index(tokens, i + 1)].value)
            elif not cur.has_spec:
                cur.closed = True
            else:
                finish(cur)
                cur = None
                pending_closed = tok.text != "off"
        elif kind == "half":
            if cur is not None:
                if cur.last_excluded:
                    cur.excluded -= cur.last_excluded
                    cur.partial.append((cur.last_excluded, tok.value))
                    cur.last_excluded = frozenset()
                elif cur.closed and not cur.ranges:
                    cur.closed = False
                    cur.closed_halves.add(tok.value)
                else:
                    cur.half = tok.value
        elif kind == "except":
            if cur is not None:
                cur.except_mode = True
        elif kind == "openword":
            clause_open = True
        i += 1
    end_clause()
    return _combine(groups)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "word"
        # lastgroup is the innermost named group that matched last; find the outer kind.
        for name in ("brk", "nl", "h24", "every", "date", "range", "dayset", "day", "closed", "half", "except",
                     "openword", "conn", "word"):  # fmt: skip
            if match.group(name) is not None:
                kind = name
                break
        raw = match.group(0)
        token = _Token(kind, raw.strip(), match.start(), match.end())
        if kind == "range":
            token.value = _range_value(match, text)
            if token.value is None:
                token.kind = "word"
        elif kind == "h24":
            if not match.group("h24open") and _NOT_24H_BEFORE.search(
                text[max(0, match.start() - 12) : match.start()]
            ):
                token.kind = "word"
            token.value = bool(match.group("h24open"))
        elif kind == "day":
            word = token.text.rstrip(".")
            token.value = (_DAY_LOOKUP[word], word in _DAY_WORDS)
        elif kind == "dayset":
            token.value = _DAY_SETS[re.sub(r"\s+", " ", token.text)]
        elif kind == "half":
            token.value = "am" if token.text.startswith(("mattin", "morning")) else "pm"
        tokens.append(token)
    return tokens


def _range_value(match: re.Match[str], text: str) -> TimeRange | None:
    def part(n: int) -> tuple[int, int, str | None, bool] | None:
        word = match.group(f"w{n}")
        if word:
            return (12 if word in ("mezzogiorno", "noon", "midday") else 24, 0, None, True)
        hour = int(match.group(f"h{n}"))
        minute = match.group(f"m{n}")
        marker = match.group(f"ap{n}")
        return hour, int(minute or 0), marker[0] if marker else None, minute is not None

    first, second = part(1), part(2)
    if first is None or second is None:
        return None
    (h1, m1, ap1, exact1), (h2, m2, ap2, exact2) = first, second
    if match.group("sep") == "/" and not (exact1 and exact2):
        return None  # "24/12" is a date; only "9.00/13.00" is a range written with a slash
    if ap2 and not ap1 and h1 <= 12 and h2 <= 12:
        # "9-6pm" is 9 a.m. to 6 p.m., "1-5pm" is 1 p.m. to 5 p.m.
        ap1 = ap2 if (h1 % 12) < (h2 % 12) else ("a" if ap2 == "p" else "p")
    if ap1 and not ap2 and h2 <= 12:
        ap2 = ap1 if (h2 % 12) > (h1 % 12) else ("p" if ap1 == "a" else "a")
    h1, h2 = _twelve_hour(h1, ap1), _twelve_hour(h2, ap2)
    if h1 is None or h2 is None or h1 > 23 or h2 > 24 or (h2 == 24 and m2):
        return None
    if not (ap1 or ap2) and 0 < h2 < h1 < 12:
        h2 += 12  # "Mon-Fri 9-5", "8.30-4.30": a morning opening closing "earlier" closes in the afternoon
    opens, closes = time(h1, m1), (MIDNIGHT if h2 == 24 else time(h2, m2))
    plain = not (exact1 or exact2 or ap1 or ap2 or match.group("pre"))
    if plain and not (h1 >= 5 or (h1 == 0 and h2 == 24)):
        return None  # "1-2 giorni", "0-3 anni": small bare numbers are not opening hours
    if _UNITS.match(text, match.end()):
        return None
    if opens == closes and not (opens == MIDNIGHT and h2 == 24):
        return None
    return TimeRange(opens, closes)


def _twelve_hour(hour: int, marker: str | None) -> int | None:
    if marker is None:
        return hour
    if not 1 <= hour <= 12:
        return None
    return hour % 12 + (12 if marker == "p" else 0)


def _significant(tokens: Sequence[_Token], i: int) -> int:
    """Index of the next token that is not a filler word or transparent punctuation."""
    while i < len(tokens) and (
        tokens[i].kind == "nl"
        or (tokens[i].kind == "word" and (tokens[i].text in _FILLERS or not tokens[i].text.isalnum()))
    ):
        i += 1
    return i


def _next_index(tokens: Sequence[_Token], i: int) -> int:
    return _significant(tokens, i)


def _next_kind(tokens: Sequence[_Token], i: int) -> str | None:
    j = _significant(tokens, i)
    return tokens[j].kind if j < len(tokens) else None


def _spec_follows(tokens: Sequence[_Token], i: int) -> bool:
    """Right after a chain of abbreviations: hours, 'closed' or '24h' (punctuation in between is fine)."""
    while i < len(tokens) and tokens[i].kind == "nl":
        i += 1
    return i < len(tokens) and tokens[i].kind in ("range", "h24", "closed")


def _read_days(tokens: Sequence[_Token], i: int) -> tuple[set[int], bool, int]:
    """A chain like 'lun-ven', 'dal martedì al sabato', 'sabato e domenica', 'Mo,We,Fr'.

    Returns the days, whether any item was a full word (strong), and the index after the chain.
    """
    items: list[frozenset[int]] = []
    connectors: list[str] = []
    strong = False
    j = i
    while True:
        tok = tokens[j]
        if tok.kind == "day":
            day, is_word = tok.value
            items.append(frozenset({day}))
            strong = strong or is_word
        elif tok.kind == "dayset":
            items.append(tok.value)
            strong = True
        else:  # every
            items.append(_ALL_DAYS)
            strong = True
        end = j + 1
        # A run of connectors joins two items: "lun-ven", "tutti i giorni, anche la domenica".
        run: list[str] = []
        m = _significant(tokens, end)
        while m < len(tokens) and tokens[m].kind == "conn" and tokens[m].text != ";":
            run.append(tokens[m].text)
            m = _significant(tokens, m + 1)
        if run and m < len(tokens) and tokens[m].kind in ("day", "dayset", "every"):
            connectors.append(next((c for c in run if c in _RANGE_CONNECTORS or c == "/"), run[0]))
            j = m
            continue
        break
    days: set[int] = set(items[0])
    slash_is_range = len(items) == 2
    for index, connector in enumerate(connectors):
        before, after = items[index], items[index + 1]
        is_range = connector in _RANGE_CONNECTORS or (connector == "/" and slash_is_range)
        if is_range and len(before) == 1 and len(after) == 1:
            a, b = next(iter(before)), next(iter(after))
            days.update((a + k) % 7 for k in range((b - a) % 7 + 1))
        else:
            days.update(after)
    return days, strong, end


def _combine(groups: Sequence[_Group]) -> WeeklyHours | None:
    result: dict[int, tuple[TimeRange, ...]] = {}
    implied_closed: set[int] = set()
    partial: list[tuple[frozenset[int], str]] = []
    for group in groups:
        days = group.days - group.excluded
        ranges = [r for r in group.ranges if not any(_in_half(r, h) for h in group.closed_halves)]
        if ranges or group.closed:
            for day in days:
                result[day] = _sorted(ranges)
            if ranges:
                implied_closed |= group.excluded  # "tutti i giorni tranne il lunedì"
        elif group.closed_halves:
            partial += [(frozenset(days), h) for h in group.closed_halves]
        if ranges:
            partial += group.partial
    for day in implied_closed:
        result.setdefault(day, ())
    for days, half in partial:
        for day in days:
            if day in result:
                result[day] = tuple(r for r in result[day] if not _in_half(r, half))
    if not result:
        return None
    return WeeklyHours(dict(sorted(result.items())))


def _in_half(r: TimeRange, half: str) -> bool:
    """Whether a range lies in the morning or the afternoon (a range across lunch is in neither)."""
    if half == "am":
        return not r.ends_next_day and r.closes <= time(14)
    return r.opens >= time(12)
