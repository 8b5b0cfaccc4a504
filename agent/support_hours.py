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

from babel.dates import format_date

# The package's generated stub leaves out the exceptions it raises at runtime.
from opening_hours import OpeningHours, ParserError, State, UnknownCountryError  # type: ignore[attr-defined]

from agent.phrases import locale_of, phrase
from knowledge import Manifest, ManifestError

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


def render_availability(available: bool, next_at: datetime | None, lang: str, now: datetime) -> str:
    """The sentence telling the customer when a person will answer, in `lang`."""
    if available:
        return phrase(lang, "support.now")
    when = phrase(lang, "support.soon") if next_at is None else _when(next_at, now, lang)
    return phrase(lang, "support.closed", when=when)


def _when(next_at: datetime, now: datetime, lang: str) -> str:
    if next_at.tzinfo is not None and now.tzinfo is not None:
        next_at = next_at.astimezone(now.tzinfo)
    clock = f"{next_at.hour}:{next_at.minute:02d}"
    days = (next_at.date() - now.date()).days
    if days <= 0:
        return phrase(lang, "support.today", time=clock)
    if days == 1:
        return phrase(lang, "support.tomorrow", time=clock)
    # Past a week a bare weekday is ambiguous ("lunedì" this week or next?): add the date.
    pattern = "EEEE d MMMM" if days >= 7 else "EEEE"
    day = str(format_date(next_at.date(), pattern, locale=locale_of(lang)))
    return phrase(lang, "support.day", day=day, time=clock)


def when_a_person_answers(manifest: Manifest, lang: str, now: datetime) -> str:
    """The sentence for `lang` saying when a person will answer, from the manifest's support hours.
    Never fails: the schedule was checked at load time, and one the library still refuses at run
    time (its errors are many types) reads as "as soon as possible"."""
    try:
        available, next_at = next_human_availability(
            manifest.support.opening_hours, now, country=manifest.country, timezone=manifest.tz
        )
    except Exception:
        return phrase(lang, "support.closed", when=phrase(lang, "support.soon"))
    return render_availability(available, next_at, lang, now)
