"""Dates written in prose (every language with data; examples in Italian and English): "25 e 26 dicembre", "dal 24 al 30 novembre 2025",
"December 24, 2026", "2026-12-24". A date without a year takes it from a reference date (the
document's), so a page written in November about "6 gennaio" means the coming January.

Works on text folded with `knowledge.text.normalize` (lower case, no accents, plain dashes).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from knowledge.text.calendar import month_words, weekday_words

DAY_WORDS = weekday_words()
DAY_PATTERN = re.compile(r"(?<![a-z])(" + "|".join(sorted(DAY_WORDS, key=len, reverse=True)) + r")(?![a-z])")
# Month names and abbreviations of every language with data: the one table every date parser reads.
MONTH_NUMBERS = month_words()
# In running prose some abbreviations are ordinary words ("mar", "set"): see `month_words`.
MONTHS = month_words(in_prose=True)
MONTH_PATTERN = "|".join(sorted(MONTHS, key=len, reverse=True))
# "25 dicembre 2026", "25 e 26 dicembre", "24, 25 and 26 December"
DAY_LIST = re.compile(
    rf"(?<![\d:.,])(\d{{1,2}})(?:°|st|nd|rd|th)?((?:\s*(?:,|e|ed|and|&)\s*\d{{1,2}}(?:st|nd|rd|th)?)*)"
    rf"\s+(?:di\s+|of\s+)?({MONTH_PATTERN})\.?(?:\s+(\d{{4}}))?(?![a-z])"
)
# "December 24, 2026", "December 24"
MONTH_DAY = re.compile(
    rf"(?<![a-z])({MONTH_PATTERN})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?(?![\d:])"
)
# "dal 24 al 26 dicembre", "from 24 to 26 December" (both ends in one month)
DAY_SPAN = re.compile(
    rf"(?:dal|from)\s+(\d{{1,2}})\s+(?:al|to|until|till|-)\s+(\d{{1,2}})\s+(?:di\s+)?({MONTH_PATTERN})\.?(?:\s+(\d{{4}}))?(?![a-z])"
)
ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


def infer_year(day: int, month: int, reference: date) -> date | None:
    """A date written without a year: the one in the reference year, or the next year when that
    would be more than two months before the reference (a page written in November about
    "6 gennaio" means next January)."""
    try:
        candidate = date(reference.year, month, day)
    except ValueError:
        return None
    if candidate < reference - timedelta(days=61):
        try:
            candidate = date(reference.year + 1, month, day)
        except ValueError:
            return None
    return candidate


def make_date(day: int, month: int, year: str | None, reference: date) -> date | None:
    if year:
        try:
            return date(int(year), month, day)
        except ValueError:
            return None
    return infer_year(day, month, reference)


def dates_in(text: str, reference: date) -> list[date]:
    """Dates named in a folded text (single dates, lists and spans within one month)."""
    found: list[date] = []
    taken: list[tuple[int, int]] = []
    for match in DAY_SPAN.finditer(text):
        month = MONTHS[match.group(3)]
        first = make_date(int(match.group(1)), month, match.group(4), reference)
        last = make_date(int(match.group(2)), month, match.group(4), reference)
        if first and last and first <= last and (last - first).days <= 31:
            found += [first + timedelta(days=i) for i in range((last - first).days + 1)]
            taken.append(match.span())
    for match in DAY_LIST.finditer(text):
        if any(a <= match.start() < b for a, b in taken):
            continue
        month = MONTHS[match.group(3)]
        days = [int(match.group(1))] + [int(d) for d in re.findall(r"\d{1,2}", match.group(2) or "")]
        for day in days:
            value = make_date(day, month, match.group(4), reference)
            if value:
                found.append(value)
        taken.append(match.span())
    for match in MONTH_DAY.finditer(text):
        if any(a <= match.start() < b for a, b in taken):
            continue
        value = make_date(int(match.group(2)), MONTHS[match.group(1)], match.group(3), reference)
        if value:
            found.append(value)
    for match in ISO_DATE.finditer(text):
        try:
            found.append(date(int(match.group(1)), int(match.group(2)), int(match.group(3))))
        except ValueError:
            continue
    return sorted(set(found))


def without_weekdays(folded: str) -> str:
    """Drop weekday names, which only get in the way of reading dates:
    "venerdi 25 e sabato 26 dicembre" → "25 e 26 dicembre"."""
    return re.sub(r"[ \t]{2,}", " ", DAY_PATTERN.sub(" ", folded)).strip()
