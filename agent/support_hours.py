"""When a human operator can answer: the manifest's `support.opening_hours` read at a given moment.

The schedule is an OSM opening_hours string ("Mo-Fr 09:00-18:00; Sa 09:00-13:00; PH off"), evaluated
by `opening_hours` (opening-hours-py, the Rust implementation of the OSM specification:
https://wiki.openstreetmap.org/wiki/Key:opening_hours/specification). It is read on the wall clock
of `now`, so pass `now` in the brand's timezone (`manifest.tz`) or give `timezone=`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

# The package's generated stub leaves out the exceptions it raises at runtime.
from opening_hours import OpeningHours, ParserError, State, UnknownCountryError  # type: ignore[attr-defined]

from knowledge import ManifestError

LOOKAHEAD_DAYS = 14


@lru_cache(maxsize=64)
def _schedule(opening_hours: str, country: str | None) -> OpeningHours:
    try:
        return OpeningHours(opening_hours, country=country)
    except ParserError as exc:
        position = re.search(r"--> \d+:(\d+)", str(exc))
        where = f" (unexpected text at character {position.group(1)})" if position else ""
        raise ManifestError(
            f"support.opening_hours {opening_hours!r} is not an OSM opening_hours expression{where}; "
            "write it like 'Mo-Fr 09:00-18:00; Sa 09:00-13:00; PH off'"
        ) from exc
    except UnknownCountryError as exc:
        raise ManifestError(
            f"country {country!r} has no public-holiday calendar for support.opening_hours; "
            "use an ISO 3166 code such as IT"
        ) from exc


def next_human_availability(
    opening_hours: str,
    now: datetime,
    *,
    country: str | None = None,
    timezone: ZoneInfo | None = None,
    lookahead_days: int = LOOKAHEAD_DAYS,
) -> tuple[bool, datetime | None]:
    """(True, None) when an operator is available at `now`; else (False, start of the next slot).

    The next slot is searched `lookahead_days` ahead; None when there is none (support closed for
    the holidays, or an "off" schedule). `country` enables public holidays ("PH off"). An "unknown"
    state counts as closed: the customer is not promised an answer nobody scheduled.
    """
    if timezone is not None and now.tzinfo is not None:
        now = now.astimezone(timezone)
    schedule = _schedule(opening_hours.strip(), country)
    for start, _end, state, _comment in schedule.intervals(now, now + timedelta(days=lookahead_days)):
        if state != State.OPEN:
            continue
        if start <= now:
            return True, None
        return False, start
    return False, None


_IT_WEEKDAYS = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")
_EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_IT_MONTHS = (
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
)
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def render_availability(available: bool, next_at: datetime | None, lang: str, now: datetime) -> str:
    """The sentence telling the customer when a person will answer, in Italian or else English."""
    italian = lang == "it"
    if available:
        return "Un operatore ti risponderà a breve." if italian else "An operator will reply shortly."
    closed = (
        "Il nostro servizio clienti è chiuso ora: un operatore ti risponderà"
        if italian
        else "Our customer service is closed right now: an operator will be available"
    )
    if next_at is None:
        return f"{closed} {'appena possibile' if italian else 'as soon as possible'}."
    return f"{closed} {_when(next_at, now, italian)}."


def _when(next_at: datetime, now: datetime, italian: bool) -> str:
    if next_at.tzinfo is not None and now.tzinfo is not None:
        next_at = next_at.astimezone(now.tzinfo)
    clock = f"{next_at.hour}:{next_at.minute:02d}"
    days = (next_at.date() - now.date()).days
    weekday = next_at.weekday()
    if italian:
        if days <= 0:
            return f"oggi dalle {clock}"
        if days == 1:
            return f"da domani alle {clock}"
        day = _IT_WEEKDAYS[weekday]
        # Past a week a bare weekday is ambiguous ("lunedì" this week or next?): add the date.
        if days >= 7:
            day += f" {next_at.day} {_IT_MONTHS[next_at.month - 1]}"
        return f"da {day} alle {clock}"
    if days <= 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    day = _EN_WEEKDAYS[weekday]
    if days >= 7:
        day += f" {next_at.day} {_EN_MONTHS[next_at.month - 1]}"
    return f"on {day} at {clock}"
