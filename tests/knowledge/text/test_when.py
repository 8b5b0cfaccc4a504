"""Which day and time a customer's question is about, against a frozen clock."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from knowledge.text import When, resolve_when

# A Wednesday morning in late November: Christmas is ahead, New Year's Day is next year's.
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Rome"))

CASES = [
    # relative days
    ("it-oggi", "siete aperti oggi?", date(2026, 11, 25), None),
    ("en-today", "are you open today?", date(2026, 11, 25), None),
    ("it-stasera", "stasera siete aperti?", date(2026, 11, 25), None),
    ("it-domani", "domani siete aperti?", date(2026, 11, 26), None),
    ("en-tomorrow", "Open tomorrow?", date(2026, 11, 26), None),
    ("it-dopodomani", "e dopodomani?", date(2026, 11, 27), None),
    ("en-day-after-tomorrow", "and the day after tomorrow?", date(2026, 11, 27), None),
    # weekdays
    ("it-sabato", "sabato siete aperti?", date(2026, 11, 28), None),
    ("it-domenica-prossima", "domenica prossima siete aperti?", date(2026, 11, 29), None),
    ("en-on-sunday", "Are you open on Sunday?", date(2026, 11, 29), None),
    ("en-next-monday", "next Monday?", date(2026, 11, 30), None),
    ("it-today-is-that-weekday", "mercoledì siete aperti?", date(2026, 11, 25), None),
    ("en-next-on-that-weekday-is-a-week-away", "next Wednesday", date(2026, 12, 2), None),
    ("it-weekend", "questo weekend siete aperti?", date(2026, 11, 28), None),
    # explicit dates
    ("it-day-month", "il 25 dicembre siete aperti?", date(2026, 12, 25), None),
    ("it-numeric", "il 24/12 che orari fate?", date(2026, 12, 24), None),
    ("en-month-day", "Are you open December 26?", date(2026, 12, 26), None),
    ("it-past-date-is-next-year", "1 gennaio", date(2027, 1, 1), None),
    ("numeric-with-year", "26/12/2026", date(2026, 12, 26), None),
    ("it-weekday-and-date", "sabato 26 dicembre", date(2026, 12, 26), None),
    # holidays
    ("it-natale", "siete aperti a Natale?", date(2026, 12, 25), None),
    ("it-vigilia", "la vigilia di Natale a che ora chiudete?", date(2026, 12, 24), None),
    ("it-santo-stefano", "e a Santo Stefano?", date(2026, 12, 26), None),
    ("it-capodanno", "a Capodanno siete chiusi?", date(2027, 1, 1), None),
    ("it-immacolata", "l'Immacolata siete aperti?", date(2026, 12, 8), None),
    ("it-ferragosto", "a Ferragosto?", date(2027, 8, 15), None),
    ("it-pasqua", "a Pasqua siete aperti?", date(2027, 3, 28), None),
    ("it-pasquetta", "e a Pasquetta?", date(2027, 3, 29), None),
    ("en-christmas-day", "Are you open on Christmas Day?", date(2026, 12, 25), None),
    ("en-christmas-eve", "What time do you close on Christmas Eve?", date(2026, 12, 24), None),
    ("en-boxing-day", "Boxing Day hours?", date(2026, 12, 26), None),
    ("en-new-years-day", "Open on New Year’s Day?", date(2027, 1, 1), None),
    ("en-new-years-eve", "New Year's Eve opening times", date(2026, 12, 31), None),
    ("it-national-day-from-calendar", "alla festa della Repubblica siete aperti?", date(2027, 6, 2), None),
    # times
    ("it-alle-hour", "siete aperti alle 18?", date(2026, 11, 25), time(18)),
    ("it-day-and-time", "domani alle 18:30 siete aperti?", date(2026, 11, 26), time(18, 30)),
    ("en-pm-and-day", "open at 6pm on Sunday?", date(2026, 11, 29), time(18)),
    ("en-at-clock", "are you open at 9:30?", date(2026, 11, 25), time(9, 30)),
    ("it-evening-small-hour", "domani sera alle 8?", date(2026, 11, 26), time(20)),
    ("it-e-mezza", "alle 18 e mezza", date(2026, 11, 25), time(18, 30)),
    ("it-date-and-time", "sabato 26 dicembre alle 10", date(2026, 12, 26), time(10)),
]


@pytest.mark.parametrize(("text", "day", "clock"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_question_resolves_to_the_day_and_time_it_asks_about(
    text: str, day: date, clock: time | None
) -> None:
    when = resolve_when(text, NOW)
    assert when is not None
    assert (when.day, when.time, when.is_now) == (day, clock, False)


NOW_CASES = [
    ("it-adesso", "siete aperti adesso?", "adesso"),
    ("it-ora", "Siete aperti ora?", "ora"),
    ("it-in-questo-momento", "in questo momento siete aperti?", "in questo momento"),
    ("en-now", "are you open now?", "now"),
    ("en-right-now", "Are you open right now?", "right now"),
]


@pytest.mark.parametrize(("text", "phrase"), [c[1:] for c in NOW_CASES], ids=[c[0] for c in NOW_CASES])
def test_now_words_resolve_to_the_current_moment(text: str, phrase: str) -> None:
    assert resolve_when(text, NOW) == When(date(2026, 11, 25), time(10), True, phrase)


NOTHING = [
    ("it-a-che-ora-is-not-now", "a che ora aprite?"),
    ("it-no-day", "spedite in Italia?"),
    ("en-no-day", "how much is the red bike?"),
    ("durations-are-not-times", "consegna entro 24 ore"),
    ("it-orario-is-not-ora", "qual è l'orario del negozio di Milano?"),
    ("size-is-not-a-date", "avete la taglia 10/12 anni?"),
]


@pytest.mark.parametrize("text", [c[1] for c in NOTHING], ids=[c[0] for c in NOTHING])
def test_text_naming_no_day_or_time_gives_none(text: str) -> None:
    assert resolve_when(text, NOW) is None


def test_holidays_are_dated_by_the_country_calendar() -> None:
    when = resolve_when("open on Thanksgiving?", NOW, lang="en", country="US")
    assert when is not None and when.day == date(2026, 11, 26)


def test_us_numeric_dates_read_month_first() -> None:
    when = resolve_when("open on 12/24?", NOW, lang="en", country="US")
    assert when is not None and when.day == date(2026, 12, 24)


def test_phrase_quotes_the_words_that_named_the_day() -> None:
    when = resolve_when("Siete aperti la vigilia di Natale?", NOW)
    assert when is not None and when.phrase == "la vigilia di Natale"


def test_resolving_needs_a_timezone_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        resolve_when("domani", datetime(2026, 11, 25, 10))
