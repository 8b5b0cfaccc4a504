"""Day and month names, from Babel's CLDR data plus the few words per language that people write
and CLDR does not hold (`knowledge/text/languages/<lang>.yaml`).

Every parser and renderer of dates and opening hours reads its names here, folded (lower case,
no accents), so a language is added by adding its data file. Weekdays are 0=Monday … 6=Sunday,
months 1 … 12.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any, Literal

from babel import Locale
from babel.dates import get_day_names, get_month_names

from knowledge.text.lexicon import LANGUAGES, language_data
from knowledge.text.normalize import fold

__all__ = [
    "month_first",
    "month_words",
    "month_words_first",
    "weekday_abbreviations",
    "weekday_name",
    "weekday_words",
]


def _calendar(lang: str) -> dict[str, Any]:
    value = language_data(lang).get("calendar") or {}
    return value if isinstance(value, dict) else {}


def weekday_name(day: int, lang: str) -> str:
    """'lunedì', 'Monday': the name to write, as CLDR spells it in running text."""
    return str(get_day_names("wide", "format", lang)[day])


@cache
def weekday_words(languages: tuple[str, ...] = LANGUAGES, *, plurals: bool = True) -> dict[str, int]:
    """Folded full weekday names (and their plurals) → weekday."""
    out: dict[str, int] = {}
    for lang in languages:
        for day, name in get_day_names("wide", "format", lang).items():
            out[fold(str(name))] = day
        for day, name in get_day_names("wide", "stand-alone", lang).items():
            out.setdefault(fold(str(name)), day)
        if plurals:
            for day, words in enumerate(_calendar(lang).get("weekday_plurals") or []):
                out.update(dict.fromkeys((fold(w) for w in words), day))
    return out


@cache
def weekday_abbreviations(languages: tuple[str, ...] = LANGUAGES) -> dict[str, int]:
    """Folded abbreviated and short weekday names ('lun', 'mon', 'mo', 'tues') → weekday."""
    out: dict[str, int] = {}
    for lang in languages:
        for width in ("abbreviated", "short"):
            for day, name in get_day_names(width, "format", lang).items():
                out.setdefault(fold(str(name)).rstrip("."), day)
        for day, words in enumerate(_calendar(lang).get("weekday_abbreviations") or []):
            out.update(dict.fromkeys((fold(w) for w in words), day))
    return out


def _month_names(lang: str, width: Literal["abbreviated", "narrow", "wide"]) -> dict[str, int]:
    return {fold(str(name)).rstrip("."): month for month, name in get_month_names(width, "format", lang).items()}


def _extra_abbreviations(lang: str) -> dict[str, int]:
    extra = _calendar(lang).get("month_abbreviations") or {}
    return {fold(word): int(month) for month, words in extra.items() for word in words}


def _ambiguous(languages: Iterable[str]) -> set[str]:
    return {fold(w) for lang in languages for w in _calendar(lang).get("ambiguous_month_abbreviations") or []}


@cache
def month_words(languages: tuple[str, ...] = LANGUAGES, *, in_prose: bool = False) -> dict[str, int]:
    """Folded month names and abbreviations → month. `in_prose` leaves out the abbreviations that are
    ordinary words in running text of one of the languages ("mar", "set")."""
    out: dict[str, int] = {}
    for lang in languages:
        out.update(_month_names(lang, "wide"))
    for lang in languages:
        for word, month in {**_month_names(lang, "abbreviated"), **_extra_abbreviations(lang)}.items():
            out.setdefault(word, month)
    if in_prose:
        for word in _ambiguous(languages):
            if word not in {w for lang in languages for w in _month_names(lang, "wide")}:
                out.pop(word, None)
    return out


def month_first(lang: str) -> bool:
    """Whether the language writes the month before the day ("December 24"), from CLDR's long date."""
    pattern: str = Locale.parse(lang).date_formats["long"].pattern
    return pattern.lstrip("EGy, ").startswith("M")


@cache
def month_words_first(languages: tuple[str, ...] = LANGUAGES) -> dict[str, int]:
    """Month words that may open a month-first date ("Dec 24"): the names and abbreviations of the
    languages that write dates that way, minus the ambiguous ones of any language."""
    first = tuple(lang for lang in languages if month_first(lang))
    words = month_words(first)
    for word in _ambiguous(languages):
        words.pop(word, None)
    return words
