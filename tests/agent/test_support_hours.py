from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from agent.support_hours import next_human_availability, render_availability
from knowledge.errors import ManifestError

ROME = ZoneInfo("Europe/Rome")
HOURS = "Mo-Fr 09:00-18:00; Sa 09:00-13:00"
# 2025-03-10 is a Monday.
MONDAY_10 = datetime(2025, 3, 10, 10, 0, tzinfo=ROME)
MONDAY_7 = datetime(2025, 3, 10, 7, 30, tzinfo=ROME)
MONDAY_19 = datetime(2025, 3, 10, 19, 0, tzinfo=ROME)
SATURDAY_14 = datetime(2025, 3, 8, 14, 0, tzinfo=ROME)


def test_an_operator_is_available_inside_the_opening_hours() -> None:
    assert next_human_availability(HOURS, MONDAY_10) == (True, None)


def test_before_opening_the_next_slot_is_later_today() -> None:
    assert next_human_availability(HOURS, MONDAY_7) == (False, datetime(2025, 3, 10, 9, 0, tzinfo=ROME))


def test_after_closing_the_next_slot_is_tomorrow_morning() -> None:
    assert next_human_availability(HOURS, MONDAY_19) == (False, datetime(2025, 3, 11, 9, 0, tzinfo=ROME))


def test_at_closing_time_support_is_already_closed() -> None:
    closing = datetime(2025, 3, 10, 18, 0, tzinfo=ROME)
    assert next_human_availability(HOURS, closing)[0] is False


def test_on_saturday_afternoon_the_next_slot_is_monday() -> None:
    assert next_human_availability(HOURS, SATURDAY_14) == (False, datetime(2025, 3, 10, 9, 0, tzinfo=ROME))


def test_public_holidays_are_skipped_when_the_country_is_known() -> None:
    christmas_eve = datetime(2025, 12, 24, 19, 0, tzinfo=ROME)
    # 25 and 26 December are Italian holidays, 27-28 a weekend.
    available, next_at = next_human_availability("Mo-Fr 09:00-18:00; PH off", christmas_eve, country="IT")
    assert (available, next_at) == (False, datetime(2025, 12, 29, 9, 0, tzinfo=ROME))


def test_a_utc_clock_is_read_in_the_brand_timezone() -> None:
    # 08:30 UTC is 09:30 in Rome (CET): open.
    utc_now = datetime(2025, 3, 10, 8, 30, tzinfo=ZoneInfo("UTC"))
    assert next_human_availability(HOURS, utc_now, timezone=ROME) == (True, None)


def test_a_schedule_that_never_opens_has_no_next_slot() -> None:
    assert next_human_availability("off", MONDAY_10) == (False, None)


def test_a_slot_beyond_the_lookahead_is_not_promised() -> None:
    assert next_human_availability("2026 Jan 05 09:00-12:00", MONDAY_10) == (False, None)


def test_naive_datetimes_are_read_as_local_wall_clock() -> None:
    naive_saturday = datetime(2025, 3, 8, 14, 0)
    assert next_human_availability(HOURS, naive_saturday) == (False, datetime(2025, 3, 10, 9, 0))


def test_an_invalid_schedule_raises_a_manifest_error_that_shows_the_syntax() -> None:
    with pytest.raises(ManifestError, match="Mo-Fr 09:00-18:00"):
        next_human_availability("lunedì-venerdì 9-18", MONDAY_10)


def test_available_now_reads_as_a_reply_shortly() -> None:
    assert render_availability(True, None, "it", MONDAY_10) == "Un operatore ti risponderà a breve."
    assert render_availability(True, None, "en", MONDAY_10) == "An operator will reply shortly."


def test_closed_until_monday_names_the_weekday_and_hour() -> None:
    available, next_at = next_human_availability(HOURS, SATURDAY_14)
    assert render_availability(available, next_at, "it", SATURDAY_14) == (
        "Il nostro servizio clienti è chiuso ora: un operatore ti risponderà da lunedì alle 9:00."
    )
    assert render_availability(available, next_at, "en", SATURDAY_14) == (
        "Our customer service is closed right now: an operator will be available on Monday at 9:00."
    )


def test_a_slot_later_today_says_today() -> None:
    next_at = datetime(2025, 3, 10, 14, 0, tzinfo=ROME)
    assert render_availability(False, next_at, "en", MONDAY_10).endswith("today at 14:00.")
    assert render_availability(False, next_at, "it", MONDAY_10).endswith("oggi dalle 14:00.")


def test_a_slot_tomorrow_says_tomorrow() -> None:
    available, next_at = next_human_availability(HOURS, MONDAY_19)
    assert render_availability(available, next_at, "en", MONDAY_19).endswith("tomorrow at 9:00.")
    assert render_availability(available, next_at, "it", MONDAY_19).endswith("da domani alle 9:00.")


def test_a_slot_more_than_a_week_away_adds_the_date() -> None:
    next_at = datetime(2025, 3, 17, 9, 0, tzinfo=ROME)
    assert render_availability(False, next_at, "it", MONDAY_10).endswith("da lunedì 17 marzo alle 9:00.")
    assert render_availability(False, next_at, "en", MONDAY_10).endswith("on Monday 17 March at 9:00.")


def test_no_known_slot_promises_an_answer_as_soon_as_possible() -> None:
    assert render_availability(False, None, "it", MONDAY_10).endswith("appena possibile.")
    assert render_availability(False, None, "en", MONDAY_10).endswith("as soon as possible.")


def test_an_unsupported_language_reads_in_english() -> None:
    assert render_availability(True, None, "de", MONDAY_10) == "An operator will reply shortly."
