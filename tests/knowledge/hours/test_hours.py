"""Opening hours: prose, OSM and schema.org parsers, rendering, and "is it open at …"."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from knowledge.hours import (
    OpenStatus,
    SpecialHours,
    TimeRange,
    WeeklyHours,
    hours_on,
    parse_hours_text,
    parse_opening_hours_specification,
    parse_osm_hours,
    render_ranges,
    render_weekly,
    status_at,
)

ROME = ZoneInfo("Europe/Rome")


def r(spec: str) -> tuple[TimeRange, ...]:
    """'9:00-13:00 15:00-19:30' → ranges; '' → closed."""
    out = []
    for part in spec.split():
        opens, closes = part.split("-")
        out.append(TimeRange(_t(opens), _t(closes)))
    return tuple(out)


def _t(text: str) -> time:
    hour, minute = (int(x) for x in text.split(":"))
    return time(0) if hour == 24 else time(hour, minute)


def week(**days: str) -> dict[int, tuple[TimeRange, ...]]:
    """week(mon_fri='9:00-19:30', sun='') → {0: …, …, 6: ()}"""
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    out: dict[int, tuple[TimeRange, ...]] = {}
    for key, spec in days.items():
        if "_" in key:
            first, last = key.split("_")
            for day in range(names.index(first), names.index(last) + 1):
                out[day] = r(spec)
        else:
            out[names.index(key)] = r(spec)
    return out


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=ROME)


# --- prose -----------------------------------------------------------------------------------
PROSE = [
    ("it-abbrev-range", "lun–ven 9:00–19:30", week(mon_fri="9:00-19:30")),
    ("it-split-shift-dots-slash", "Lunedì-Venerdì: 9.00-12.30 / 15.00-19.30",
     week(mon_fri="9:00-12:30 15:00-19:30")),
    ("it-bare-hours", "sabato 9-13", week(sat="9:00-13:00")),
    ("it-closed", "domenica chiuso", week(sun="")),
    ("it-closed-colon-capital", "Domenica: chiuso", week(sun="")),
    ("it-dal-al", "dal martedì al sabato 10:00-19:00", week(tue_sat="10:00-19:00")),
    ("it-every-day", "tutti i giorni 8-20", week(mon_sun="8:00-20:00")),
    ("it-orario-continuato", "lunedì-sabato orario continuato 9:30–19:30", week(mon_sat="9:30-19:30")),
    ("en-am-pm", "Mon-Sat 9am-7pm", week(mon_sat="9:00-19:00")),
    ("en-closed", "Sunday closed", week(sun="")),
    ("en-spaced-am-pm-en-dash", "Mon–Fri 9:00 am – 6:00 pm", week(mon_fri="9:00-18:00")),
    ("en-open-24-hours", "open 24 hours", week(mon_sun="0:00-24:00")),
    ("it-aperto-24-ore-su-24", "Siamo aperti 24 ore su 24", week(mon_sun="0:00-24:00")),
    ("it-h24-with-days", "lun-dom h24", week(mon_sun="0:00-24:00")),
    ("it-e-between-days", "sabato e domenica 10-13", week(sat_sun="10:00-13:00")),
    ("markdown-table", "| Giorno | Orario |\n|---|---|\n| Lunedì | 9:00–19:30 |\n| Domenica | chiuso |",
     week(mon="9:00-19:30", sun="")),
    ("two-letter-abbrevs", "Mo-Fr 09:00-18:00 Sa 09:00-13:00", week(mon_fri="9:00-18:00", sat="9:00-13:00")),
    ("three-letter-list", "Mon, Wed, Fri 10:00-18:00", {0: r("10:00-18:00"), 2: r("10:00-18:00"), 4: r("10:00-18:00")}),
    ("it-full-week-prose", "Orari: Lunedì 15:30-19:30 Martedì-Sabato 9:00-13:00 / 15:30-19:30 Domenica chiuso",
     week(mon="15:30-19:30", tue_sat="9:00-13:00 15:30-19:30", sun="")),
    ("en-sentence", "Monday to Friday from 9am to 6pm, Saturday 10am-4pm, Sunday closed",
     week(mon_fri="9:00-18:00", sat="10:00-16:00", sun="")),
    ("it-hours-before-days", "Aperti dalle 9 alle 19 dal lunedì al sabato", week(mon_sat="9:00-19:00")),
    ("it-closed-before-day", "Chiuso la domenica", week(sun="")),
    ("en-closed-on-sundays-and-holidays", "Closed on Sundays and public holidays", week(sun="")),
    ("it-slash-ranges", "Lun-Sab 9.00/13.00 - 15.30/19.30", week(mon_sat="9:00-13:00 15:30-19:30")),
    ("it-except", "tutti i giorni tranne il lunedì dalle 9 alle 20", week(mon="", tue_sun="9:00-20:00")),
    ("it-half-day-closing", "Lun-Sab 9-13 / 15-19, chiuso il lunedì mattina",
     week(mon="15:00-19:00", tue_sat="9:00-13:00 15:00-19:00")),
    ("en-9-to-5", "Mon-Fri 9-5", week(mon_fri="9:00-17:00")),
    ("overnight", "Ven-Sab 22-2", week(fri_sat="22:00-2:00")),
    ("days-on-separate-lines", "Lunedì\n9:00 - 19:30\nMartedì\n9:00 - 19:30", week(mon_tue="9:00-19:30")),
    ("later-statement-overrides", "tutti i giorni 9-20, domenica 10-13", week(mon_sat="9:00-20:00", sun="10:00-13:00")),
    ("en-weekdays-weekends", "weekdays 8-6, weekends 10-4", week(mon_fri="8:00-18:00", sat_sun="10:00-16:00")),
    ("it-anche-la-domenica", "Siamo aperti tutti i giorni, anche la domenica, dalle 10 alle 20.",
     week(mon_sun="10:00-20:00")),
    ("crlf-lines", "Mon-Fri: 9-18\r\nSat: 9-13\r\nSun: closed", week(mon_fri="9:00-18:00", sat="9:00-13:00", sun="")),
    ("abbreviations-on-their-own-line", "Mo-Fr\n09:00-18:00", week(mon_fri="9:00-18:00")),
    ("date-after-weekly-hours-keeps-them", "Lun-Ven 9-18 (chiuso il 25 dicembre)", week(mon_fri="9:00-18:00")),
    ("it-aperto-h24-every-day", "Distributore aperto H24 7 giorni su 7", week(mon_sun="0:00-24:00")),
]  # fmt: skip


@pytest.mark.parametrize(("text", "days"), [c[1:] for c in PROSE], ids=[c[0] for c in PROSE])
def test_prose_hours_are_read_into_weekly_hours(text: str, days: dict) -> None:
    assert parse_hours_text(text) == WeeklyHours(days)


NO_HOURS = [
    ("no-hours-at-all", "Spediamo in tutta Italia con corriere espresso."),
    ("times-without-days", "Spedizione in 24 ore. Ordini entro le 13 spediti in giornata."),
    ("range-without-day", "orario continuato 9:30–19:30"),
    ("day-with-a-date-is-special", "Domenica 8 dicembre 10-13"),
    ("durations-are-not-hours", "Spediamo dal lunedì al venerdì in 1-2 giorni lavorativi"),
    ("closing-for-holidays", "Chiuso per ferie dal 10 al 20 agosto"),
    ("date-before-days-is-seasonal", "Dal 1 dicembre al 6 gennaio aperti anche la domenica 10-19."),
    ("delivery-days-without-hours", "Le consegne avvengono dal lunedì al venerdì."),
    ("h24-without-open-or-day", "Assistenza h24"),
    ("abbreviation-that-is-a-word", "We open new stores every year"),
    ("empty", "   "),
]


@pytest.mark.parametrize("text", [c[1] for c in NO_HOURS], ids=[c[0] for c in NO_HOURS])
def test_text_without_weekly_hours_gives_none(text: str) -> None:
    assert parse_hours_text(text) is None


# --- OSM / schema.org openingHours -----------------------------------------------------------
OSM = [
    ("semicolon-rules", "Mo-Fr 09:00-19:30; Sa 09:00-13:00; Su off",
     week(mon_fri="9:00-19:30", sat="9:00-13:00", sun="")),
    ("list-form", ["Mo-Fr 09:00-18:00", "Sa 10:00-12:00"], week(mon_fri="9:00-18:00", sat="10:00-12:00", sun="")),
    ("split-shift", "Mo-Fr 08:00-12:00,14:00-18:00; PH off", week(mon_fri="8:00-12:00 14:00-18:00", sat_sun="")),
    ("24-7", "24/7", week(mon_sun="0:00-24:00")),
    ("overnight", "Fr-Sa 22:00-02:00", week(mon_thu="", fri_sat="22:00-2:00", sun="")),
    ("near-miss-falls-back-to-prose", "Mo-Fr 9am-6pm", week(mon_fri="9:00-18:00")),
]  # fmt: skip


@pytest.mark.parametrize(("value", "days"), [c[1:] for c in OSM], ids=[c[0] for c in OSM])
def test_osm_opening_hours_are_read_into_weekly_hours(value: str | list[str], days: dict) -> None:
    assert parse_osm_hours(value) == WeeklyHours(days)


def test_osm_seasonal_rules_are_read_for_the_week_asked() -> None:
    value = "Mo-Sa 09:00-19:00; Jul-Aug Mo-Sa 09:00-13:00"
    assert parse_osm_hours(value, week_of=date(2026, 7, 15)).days[0] == r("9:00-13:00")


def test_unreadable_osm_hours_raise_value_error() -> None:
    with pytest.raises(ValueError, match="not valid OSM"):
        parse_osm_hours("whenever we feel like it")


# --- schema.org openingHoursSpecification ---------------------------------------------------
STORE_NODE = {
    "openingHoursSpecification": [
        {"@type": "OpeningHoursSpecification", "dayOfWeek": ["https://schema.org/Monday", "http://schema.org/Tuesday",
         "Wednesday", "Thursday", "Friday"], "opens": "09:00:00", "closes": "13:00"},
        {"dayOfWeek": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"], "opens": "15:00", "closes": "19:30"},
        {"dayOfWeek": "https://schema.org/Saturday", "opens": "09:00", "closes": "13:00"},
        {"dayOfWeek": "Sunday", "opens": "00:00", "closes": "00:00"},
    ],
    "specialOpeningHoursSpecification": [
        {"validFrom": "2026-12-25", "validThrough": "2026-12-26", "opens": "00:00", "closes": "00:00"},
        {"validFrom": "2026-12-24", "validThrough": "2026-12-24", "opens": "09:00", "closes": "13:00"},
        {"validFrom": "2026-12-01", "validThrough": "2026-12-31", "dayOfWeek": "Sunday",
         "opens": "10:00", "closes": "19:00"},
    ],
}  # fmt: skip
WEEKLY, SPECIALS = parse_opening_hours_specification(STORE_NODE)

SPEC_DAYS = [
    ("weekday-split-shift-merged", date(2026, 11, 25), r("9:00-13:00 15:00-19:30"), "regular"),
    ("saturday-url-day-name", date(2026, 11, 28), r("9:00-13:00"), "regular"),
    ("sunday-00-00-is-closed", date(2026, 11, 29), (), "regular"),
    ("closed-special-span", date(2026, 12, 26), (), "special"),
    ("short-special-day", date(2026, 12, 24), r("9:00-13:00"), "special"),
    ("special-by-weekday-in-span", date(2026, 12, 13), r("10:00-19:00"), "special"),
    ("weekday-inside-special-span-keeps-regular", date(2026, 12, 14), r("9:00-13:00 15:00-19:30"), "regular"),
]


@pytest.mark.parametrize(("day", "ranges", "rule"), [c[1:] for c in SPEC_DAYS], ids=[c[0] for c in SPEC_DAYS])
def test_schema_org_specification_gives_hours_by_date(day: date, ranges: tuple, rule: str) -> None:
    assert hours_on(WEEKLY, SPECIALS, day) == (ranges, rule)


BAD_SPECS = [
    ("unknown-day", {"dayOfWeek": "Funday", "opens": "09:00", "closes": "10:00"}, "Funday"),
    ("twelve-hour-clock", {"dayOfWeek": "Monday", "opens": "9am", "closes": "18:00"}, "'9am' is not a time"),
    ("missing-closes", {"dayOfWeek": "Monday", "opens": "09:00"}, "needs both 'opens' and 'closes'"),
    ("string-instead-of-object", "Mo-Fr 09:00-18:00", "use parse_osm_hours"),
    ("dates-backwards", {"validFrom": "2026-12-26", "validThrough": "2026-12-24", "opens": "00:00", "closes": "00:00"},
     "before validFrom"),
]  # fmt: skip


@pytest.mark.parametrize(("entry", "message"), [c[1:] for c in BAD_SPECS], ids=[c[0] for c in BAD_SPECS])
def test_unreadable_specification_entry_raises_a_clear_value_error(entry: object, message: str) -> None:
    with pytest.raises(ValueError, match="entry 2") as error:
        parse_opening_hours_specification(
            [{"dayOfWeek": "Monday", "opens": "09:00", "closes": "18:00"}, entry]
        )
    assert message in str(error.value)


def test_closing_at_23_59_means_midnight() -> None:
    weekly, _ = parse_opening_hours_specification(
        {"dayOfWeek": "Friday", "opens": "18:00", "closes": "23:59"}
    )
    assert weekly.days[4] == (TimeRange(time(18), time(0)),)


# --- status_at -------------------------------------------------------------------------------
SHOP = WeeklyHours(week(mon_fri="9:00-13:00 15:00-19:30", sat="9:00-13:00", sun=""))
BAR = WeeklyHours(week(mon_thu="18:00-24:00", fri_sat="18:00-2:00", sun=""))
XMAS = [
    SpecialHours(date(2026, 12, 24), date(2026, 12, 24), r("9:00-13:00")),
    SpecialHours(date(2026, 12, 25), date(2026, 12, 26), ()),
]
ALWAYS = WeeklyHours(week(mon_sun="0:00-24:00"))
# Europe/Rome switches to summer time on Sunday 2026-03-29 and back on Sunday 2026-10-25.
NIGHT = WeeklyHours(week(mon_fri="", sat="22:00-4:00", sun="10:00-13:00"))

STATUS = [
    ("open-morning", SHOP, [], at(2026, 11, 25, 10), True, at(2026, 11, 25, 13), at(2026, 11, 25, 15), "regular"),
    ("closed-in-split-shift-gap", SHOP, [], at(2026, 11, 25, 14), False, None, at(2026, 11, 25, 15), "regular"),
    ("closed-evening-opens-tomorrow", SHOP, [], at(2026, 11, 25, 20), False, None, at(2026, 11, 26, 9), "regular"),
    ("next-opening-across-weekend", SHOP, [], at(2026, 11, 28, 14), False, None, at(2026, 11, 30, 9), "regular"),
    ("closing-minute-is-closed", SHOP, [], at(2026, 11, 25, 13), False, None, at(2026, 11, 25, 15), "regular"),
    ("open-until-midnight", BAR, [], at(2026, 11, 25, 23), True, at(2026, 11, 26, 0), at(2026, 11, 26, 18), "regular"),
    ("overnight-before-midnight", BAR, [], at(2026, 11, 27, 23), True, at(2026, 11, 28, 2), at(2026, 11, 28, 18),
     "regular"),
    ("overnight-after-midnight", BAR, [], at(2026, 11, 28, 1), True, at(2026, 11, 28, 2), at(2026, 11, 28, 18),
     "regular"),
    ("overnight-into-closed-sunday", BAR, [], at(2026, 11, 29, 1, 30), True, at(2026, 11, 29, 2), at(2026, 11, 30, 18),
     "regular"),
    ("special-hours-override-regular", SHOP, XMAS, at(2026, 12, 24, 16), False, None, at(2026, 12, 28, 9), "special"),
    ("special-hours-open", SHOP, XMAS, at(2026, 12, 24, 12), True, at(2026, 12, 24, 13), at(2026, 12, 28, 9),
     "special"),
    ("holiday-closed", SHOP, XMAS, at(2026, 12, 25, 11), False, None, at(2026, 12, 28, 9), "special"),
    ("unknown-hours", None, [], at(2026, 11, 25, 10), False, None, None, "unknown"),
    ("always-open-never-closes", ALWAYS, [], at(2026, 11, 25, 10), True, None, None, "regular"),
    ("dst-spring-forward-overnight", NIGHT, [], at(2026, 3, 28, 23), True, at(2026, 3, 29, 4), at(2026, 3, 29, 10),
     "regular"),
    ("dst-spring-forward-next-opening", NIGHT, [], at(2026, 3, 28, 20), False, None, at(2026, 3, 28, 22), "regular"),
    ("dst-fall-back-overnight", NIGHT, [], at(2026, 10, 24, 23), True, at(2026, 10, 25, 4), at(2026, 10, 25, 10),
     "regular"),
    ("dst-fall-back-next-opening", NIGHT, [], at(2026, 10, 25, 5), False, None, at(2026, 10, 25, 10), "regular"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("weekly", "specials", "moment", "is_open", "closes_at", "next_opens_at", "rule"),
    [c[1:] for c in STATUS],
    ids=[c[0] for c in STATUS],
)
def test_status_at_says_whether_open_until_when_and_next_opening(
    weekly, specials, moment, is_open, closes_at, next_opens_at, rule
) -> None:
    status = status_at(weekly, specials, moment)
    assert (status.is_open, status.closes_at, status.next_opens_at, status.rule) == (
        is_open,
        closes_at,
        next_opens_at,
        rule,
    )


DST_ELAPSED = [
    # (at, the datetime expected, real hours in between): 23:00 → 04:00 is 4 h in spring, 6 h in autumn.
    ("spring-forward-closing", at(2026, 3, 28, 23), "closes_at", timedelta(hours=4), timedelta(hours=2)),
    ("fall-back-closing", at(2026, 10, 24, 23), "closes_at", timedelta(hours=6), timedelta(hours=1)),
    ("spring-forward-opening", at(2026, 3, 29, 5), "next_opens_at", timedelta(hours=5), timedelta(hours=2)),
    ("fall-back-opening", at(2026, 10, 25, 5), "next_opens_at", timedelta(hours=5), timedelta(hours=1)),
]


@pytest.mark.parametrize(("moment", "field", "elapsed", "offset"), [c[1:] for c in DST_ELAPSED],
                         ids=[c[0] for c in DST_ELAPSED])  # fmt: skip
def test_times_across_dst_changes_are_local_wall_clock_with_the_right_offset(
    moment: datetime, field: str, elapsed: timedelta, offset: timedelta
) -> None:
    value = getattr(status_at(NIGHT, [], moment), field)
    assert value.astimezone(UTC) - moment.astimezone(UTC) == elapsed
    assert value.utcoffset() == offset


def test_status_reports_the_ranges_of_the_day() -> None:
    assert status_at(SHOP, XMAS, at(2026, 12, 24, 8)).ranges_today == r("9:00-13:00")


def test_status_needs_a_timezone_aware_moment() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        status_at(SHOP, [], datetime(2026, 11, 25, 10))


# --- rendering and JSON ---------------------------------------------------------------------
RENDER = [
    ("it-split", r("9:00-12:30 15:00-19:30"), "it", "9:00–12:30 e 15:00–19:30"),
    ("en-split", r("9:00-12:30 15:00-19:30"), "en", "9:00–12:30 and 15:00–19:30"),
    ("it-closed", (), "it", "chiuso"),
    ("en-closed", (), "en", "closed"),
    ("until-midnight", r("18:00-24:00"), "it", "18:00–24:00"),
]


@pytest.mark.parametrize(("ranges", "lang", "text"), [c[1:] for c in RENDER], ids=[c[0] for c in RENDER])
def test_ranges_render_in_the_customer_language(ranges: tuple, lang: str, text: str) -> None:
    assert render_ranges(ranges, lang) == text


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("it", "lunedì–venerdì 9:00–13:00 e 15:00–19:30; sabato 9:00–13:00; domenica chiuso"),
        ("en", "Monday–Friday 9:00–13:00 and 15:00–19:30; Saturday 9:00–13:00; Sunday closed"),
    ],
    ids=["it", "en"],
)
def test_weekly_hours_render_grouping_equal_consecutive_days(lang: str, text: str) -> None:
    assert render_weekly(SHOP, lang) == text


def test_hours_round_trip_through_json_dicts() -> None:
    status = status_at(BAR, XMAS, at(2026, 11, 27, 23))
    assert WeeklyHours.from_dict(BAR.to_dict()) == BAR
    assert [SpecialHours.from_dict(s.to_dict()) for s in XMAS] == XMAS
    assert OpenStatus.from_dict(status.to_dict()) == status
