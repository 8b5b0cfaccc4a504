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

from knowledge.errors import HoursFormatError

Rule = Literal["special", "regular", "unknown"]

_JSON_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_LOOKAHEAD_DAYS = 14
MIDNIGHT = time(0)


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
        return cls(parse_clock(str(data["opens"])), parse_clock(str(data["closes"])))


@dataclass(frozen=True)
class WeeklyHours:
    """Regular hours by weekday (0=Monday). Missing day = unknown; empty tuple = closed."""

    days: dict[int, tuple[TimeRange, ...]]

    def __post_init__(self) -> None:
        bad = [day for day in self.days if day not in range(7)]
        if bad:
            raise HoursFormatError(f"weekday keys must be 0 (Monday) … 6 (Sunday), got {bad}")

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
            raise HoursFormatError(
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


def parse_clock(text: str) -> time:
    """'9:00', '09:00', '09:00:00', '24:00' (→ midnight) or '09:00:00+01:00' (offset ignored)."""
    match = re.fullmatch(r"\s*(\d{1,2})[:.](\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?\s*", text)
    if not match:
        raise HoursFormatError(f"{text!r} is not a time of day (expected HH:MM)")
    hour, minute = int(match[1]), int(match[2])
    if hour == 24 and minute == 0:
        return MIDNIGHT
    if hour > 23 or minute > 59:
        raise HoursFormatError(f"{text!r} is not a time of day (expected HH:MM)")
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
        return sorted_ranges(best.ranges), "special"
    if weekly is not None and day.weekday() in weekly.days:
        return sorted_ranges(weekly.days[day.weekday()]), "regular"
    return None, "unknown"


def status_at(weekly: WeeklyHours | None, specials: Sequence[SpecialHours], at: datetime) -> OpenStatus:
    """Open or closed at `at` (tz-aware, store timezone), until when, and when it next opens.

    All arithmetic is on local wall-clock dates and times, turned into aware datetimes only at
    the end, so a day is a calendar day even when it has 23 or 25 hours (DST changes).
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise HoursFormatError("status_at needs a timezone-aware datetime in the store's timezone")
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
        until = _extend(weekly, specials, end, limit=local + timedelta(days=_LOOKAHEAD_DAYS))
        closes_at = None if until is None else _aware(until, tz)
        reopens = None if until is None else _next_start(weekly, specials, until, today)
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


def sorted_ranges(ranges: Iterable[TimeRange]) -> tuple[TimeRange, ...]:
    return tuple(sorted(set(ranges), key=lambda r: (r.opens, r.closes == MIDNIGHT, r.closes)))
