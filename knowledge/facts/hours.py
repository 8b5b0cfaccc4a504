"""Opening-hours facts: from store feeds, page JSON-LD and page / FAQ prose and tables.

- A store document (locations feed) gives its weekly and special hours (schema.org
  openingHoursSpecification / specialOpeningHoursSpecification / openingHours).
- A page's JSON-LD store node gives hours for the directory store it matches (@id, url, name, city).
- Prose and tables give hours only when the page is about exactly one store — one the store
  directory found described on it (`knowledge.facts.stores`: its address, or its hours under a
  title naming it), else named by its URL, else its title (an FAQ's question), else its text —
  and, when only the text names it, only from sentences that talk about opening hours. Sections headed "Orari"/"Hours" are read for
  weekly hours, sections headed "festività"/"holidays"/"special" for dated hours.
- "Il sabato chiude alle 19:00" with no opening time is a partial value ``[[None, "19:00"]]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from babel.dates import format_date

from knowledge.documents import Document
from knowledge.facts.model import Fact, FactOrigin
from knowledge.facts.sections import document_body, hours_sections
from knowledge.facts.stores import (
    StoreRef,
    find_stores,
    jsonld_store_nodes,
    match_store_node,
    store_for_url,
)
from knowledge.hours import (
    SpecialHours,
    TimeRange,
    WeeklyHours,
    parse_hours_text,
    parse_opening_hours_specification,
    parse_osm_hours,
    render_ranges,
)
from knowledge.text import (
    DAY_LIST,
    DAY_PATTERN,
    DAY_SPAN,
    DAY_WORDS,
    ISO_DATE,
    LANGUAGES,
    dates_in,
    fold,
    phrase_table,
    weekday_name,
    without_weekdays,
)

_MAX_SPECIAL_SPAN_DAYS = 400  # a "special" period longer than a year is a data error, not a holiday
_SNIPPET_CHARS = 300


def hours_value(ranges: Iterable[TimeRange]) -> list[list[str]]:
    """The comparable value of a day's ranges: [["09:00","12:30"], ...], sorted; [] = closed."""
    pairs = {(r.to_dict()["opens"], r.to_dict()["closes"]) for r in ranges}
    return [list(p) for p in sorted(pairs)]


def store_document_hours(origin: FactOrigin, stores: list[StoreRef]) -> Iterator[Fact]:
    data = origin.document.data["store"]
    store_id = str(data.get("id") or origin.document.key)
    store = next((s for s in stores if s.node_id == store_id), None)
    if store is None:
        return
    weekly, specials = _node_hours(
        {
            "openingHoursSpecification": data.get("opening_hours_specification") or [],
            "specialOpeningHoursSpecification": data.get("special_opening_hours_specification") or [],
            "openingHours": data.get("opening_hours"),
        },
        origin.document.updated_at or origin.document.fetched_at,
    )
    yield from _hours_facts(origin, store, weekly, specials, origin.document.text)


def _node_hours(node: dict[str, Any], reference: datetime) -> tuple[WeeklyHours | None, list[SpecialHours]]:
    """Weekly and special hours of a schema.org store node; nothing when they cannot be read
    (a guess is worse than no fact)."""
    weekly: WeeklyHours | None = None
    specials: list[SpecialHours] = []
    entries = {
        k: node.get(k)
        for k in ("openingHoursSpecification", "specialOpeningHoursSpecification")
        if node.get(k)
    }
    if entries:
        try:
            spec_weekly, specials = parse_opening_hours_specification(entries)
        except ValueError:
            spec_weekly, specials = WeeklyHours({}), []
        weekly = spec_weekly if spec_weekly.days else None
    if weekly is None and node.get("openingHours"):
        try:
            weekly = parse_osm_hours(node["openingHours"], week_of=reference.date())
        except ValueError:
            weekly = None
    return weekly, specials


def _hours_facts(
    origin: FactOrigin,
    store: StoreRef,
    weekly: WeeklyHours | None,
    specials: list[SpecialHours],
    source_text: str,
    partial: dict[int, list[list[str | None]]] | None = None,
) -> Iterator[Fact]:
    def name(day: int) -> str:
        return weekday_name(day, origin.lang)

    if weekly is not None:
        for day, ranges in sorted(weekly.days.items()):
            display = f"{name(day)}: {render_ranges(ranges, origin.lang)}"
            yield origin.fact(
                "hours",
                f"store:{store.key}:weekday:{day}",
                hours_value(ranges),
                display,
                store=store.key,
                # The day as the page may write it, in its own language first.
                snippet=_snippet(
                    source_text, tuple(dict.fromkeys(weekday_name(day, lang) for lang in (origin.lang, *LANGUAGES)))
                ),
            )
    for day, value in sorted((partial or {}).items()):
        opens, closes = value[0]
        words = phrase_table(origin.lang, "hours")
        display = (
            f"{name(day)}: {words['opens_at']} {opens}" if closes is None else f"{name(day)}: {words['closes_at']} {closes}"
        )
        yield origin.fact(
            "hours",
            f"store:{store.key}:weekday:{day}",
            value,
            display,
            store=store.key,
            snippet=_snippet(source_text, (name(day),)),
        )
    for special in specials:
        span = (special.valid_through - special.valid_from).days
        if span > _MAX_SPECIAL_SPAN_DAYS:
            continue
        for offset in range(span + 1):
            special_day = special.valid_from + timedelta(days=offset)
            label = format_date(special_day, "d MMMM y", locale=origin.lang)
            yield origin.fact(
                "special_hours",
                f"store:{store.key}:special:{special_day.isoformat()}",
                hours_value(special.ranges),
                f"{label}: {render_ranges(special.ranges, origin.lang)}",
                valid_from=special_day,
                valid_through=special_day,
                store=store.key,
                snippet=_snippet(source_text, (format_date(special_day, "d MMMM", locale=origin.lang),)),
            )


def page_hours(origin: FactOrigin, stores: list[StoreRef]) -> Iterator[Fact]:
    if not stores:
        return
    document = origin.document
    reference = document.updated_at or document.fetched_at
    for node in jsonld_store_nodes(document):
        store = match_store_node(node, stores, document.url)
        if store is not None:
            weekly, specials = _node_hours(node, reference)
            yield from _hours_facts(origin, store, weekly, specials, document.text)
    store, named_by = _page_store(document, stores)
    if store is None:
        return
    (weekly_text, weekly_headed), (special_text, special_headed) = hours_sections(document)
    if named_by == "text":
        # Only the body names the store (a shipping page mentioning the warehouse's town): outside
        # sections headed for hours, read just the sentences that talk about opening hours.
        weekly_text = weekly_text if weekly_headed else _hours_sentences(weekly_text)
        special_text = special_text if special_headed else _hours_sentences(special_text)
    weekly = parse_hours_text(weekly_text)
    partial = {
        day: value
        for day, value in _partial_hours(weekly_text, _question_days(document)).items()
        if weekly is None or day not in weekly.days
    }
    specials = _special_hours_text(special_text, reference.date())
    yield from _hours_facts(origin, store, weekly, specials, weekly_text + "\n" + special_text, partial)


def _page_store(document: Document, stores: list[StoreRef]) -> tuple[StoreRef | None, str]:
    """The one store a page or FAQ entry is about — the store the directory knows it describes
    (a page giving a store's address), else by its URL, else its title (question), else its
    text — and what named it."""
    described = next((s for s in stores if document.doc_id in s.pages), None)
    if described is not None:
        return described, "page"
    by_url = store_for_url(document.url, stores) if document.kind == "page" else None
    if by_url is not None:
        return by_url, "url"
    named = find_stores(document.title, stores)
    if named:
        return (named[0] if len(named) == 1 else None), "title"
    body = document_body(document)
    named = find_stores(body, stores)
    if len(named) > 1:
        # A body naming several stores ("not valid at the outlet … the Bologna store opens on
        # Sundays"): the one its sentences about opening hours name, if they name one.
        named = find_stores(_hours_sentences(body), stores) or named
    return (named[0] if len(named) == 1 else None), "text"


_HOURS_WORDS = re.compile(
    r"orari|orario|apert|apre|aprono|apriamo|chius|chiude|chiudiamo|open|hours|closed|closes"
)


def _hours_sentences(text: str) -> str:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return "\n".join(p for p in parts if _HOURS_WORDS.search(fold(p)))


_CLOCK = r"(\d{1,2})(?:[:.](\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?"
_CLOSES_AT = re.compile(
    r"\b(?:chiude|chiudono|chiudiamo|chiusura|closes?|closing|we close)\s+(?:alle\s+(?:ore\s+)?|ore\s+|at\s+)"
    + _CLOCK
)
_OPENS_AT = re.compile(
    r"\b(?:apre|aprono|apriamo|apertura|opens?|opening|we open)\s+(?:alle\s+(?:ore\s+)?|ore\s+|at\s+)"
    + _CLOCK
)


def _question_days(document: Document) -> set[int]:
    """Weekdays an FAQ question asks about ("…chiude il sabato?"): its answer may not repeat them."""
    if document.kind != "faq":
        return set()
    return {DAY_WORDS[m.group(1)] for m in DAY_PATTERN.finditer(fold(document.title))}


def _partial_hours(text: str, default_days: set[int]) -> dict[int, list[list[str | None]]]:
    """Sentences giving only a closing (or opening) time for named days: "il sabato chiude alle
    19:00", "on Saturdays we close at 7pm". Taken only when the sentence has one such time; a
    sentence naming no day uses `default_days` (the days an FAQ question asks about)."""
    out: dict[int, list[list[str | None]]] = {}
    for sentence in re.split(r"(?<=[.!?;])\s+|\n+", fold(text)):
        days = {DAY_WORDS[m.group(1)] for m in DAY_PATTERN.finditer(sentence)} or default_days
        closes, opens = list(_CLOSES_AT.finditer(sentence)), list(_OPENS_AT.finditer(sentence))
        if not days or len(closes) + len(opens) != 1:
            continue
        match = (closes or opens)[0]
        clock = _clock_from(match.group(1), match.group(2), match.group(3))
        if clock is None:
            continue
        for day in days:
            out[day] = [[None, clock]] if closes else [[clock, None]]
    return out


def _clock_from(hour: str, minute: str | None, marker: str | None) -> str | None:
    h, m = int(hour), int(minute or 0)
    if marker:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if marker.startswith("p") else 0)
    if h > 24 or m > 59 or (h == 24 and m):
        return None
    return f"{h:02d}:{m:02d}"


_TIME_RANGE = re.compile(
    r"(?<![\d:.])(\d{1,2})(?:[:.](\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?\s*(?:-|alle|to|until)\s*"
    r"(\d{1,2})(?:[:.](\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?(?![\d/])"
)
_CLOSED_WORD = re.compile(r"(?<![a-z])(chius[oaie]|closed)(?![a-z])")


def _special_hours_text(text: str, reference: date) -> list[SpecialHours]:
    """Dated hours written line by line ("| giovedì 24 dicembre 2026 | 9:00–13:00 |",
    "25 e 26 dicembre chiuso"). A line counts only when it names dates and either opening
    times or "closed", not both."""
    out: list[SpecialHours] = []
    for raw in re.split(r"\n+|(?<=[.;])\s+", fold(text)):
        line = without_weekdays(raw)
        dates = dates_in(line, reference)
        if not dates:
            continue
        rest = DAY_SPAN.sub(" ", DAY_LIST.sub(" ", ISO_DATE.sub(" ", line)))
        ranges = []
        for m in _TIME_RANGE.finditer(rest):
            opens = _clock_from(m.group(1), m.group(2), m.group(3) or m.group(6))
            closes = _clock_from(m.group(4), m.group(5), m.group(6))
            if opens and closes and (m.group(2) or m.group(5) or m.group(3) or m.group(6)):
                ranges.append(TimeRange.from_dict({"opens": opens, "closes": closes}))
        closed = bool(_CLOSED_WORD.search(rest))
        if bool(ranges) == closed:
            continue
        for day in dates:
            out.append(SpecialHours(day, day, tuple(ranges)))
    return out


def _snippet(text: str, needles: tuple[str, ...]) -> str:
    """The first line of `text` that mentions one of `needles` (folded), for reports."""
    folded_needles = [fold(n) for n in needles if n]
    for line in text.splitlines():
        folded = fold(line)
        if any(n in folded for n in folded_needles):
            return line.strip()[:_SNIPPET_CHARS]
    return ""
