"""What the assistant says, in the customer's language: one data file per language
(`agent/languages/<lang>.yaml`), dates and money written with Babel's CLDR data.

Messaging-friendly: short sentences, no markdown, dates written out ("3 novembre 2026"). A language
without a file, or a key missing from one, falls back to English so a reply is never empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.lists import format_list

from knowledge.text import FALLBACK_LANGUAGE, LanguageFiles, base_language, format_price

__all__ = [
    "AGENT_LANGUAGES",
    "day_label",
    "join_names",
    "language_name",
    "lexicon",
    "lexicons",
    "locale_of",
    "long_date",
    "money",
    "phrase",
    "phrase_map",
]

AGENT_LANGUAGES = LanguageFiles("agent")


def _lookup(lang: str, key: str) -> Any:
    node: Any = AGENT_LANGUAGES.data(lang).get("phrases") or {}
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _template(lang: str, key: str) -> Any:
    value = _lookup(lang, key)
    if value is None and base_language(lang) != FALLBACK_LANGUAGE:
        value = _lookup(FALLBACK_LANGUAGE, key)
    if value is None:
        raise KeyError(f"no phrase {key!r} in agent/languages/{FALLBACK_LANGUAGE}.yaml")
    return value


def phrase(lang: str, key: str, **values: object) -> str:
    """The phrase `key` ("handoff.injury", "open_range") in `lang`, filled with `values`."""
    template = _template(lang, key)
    if not isinstance(template, str):
        raise KeyError(f"phrase {key!r} is a table, not a sentence")
    return template.format(**values)


def phrase_map(lang: str, key: str) -> dict[str, str]:
    """A table of phrases (e.g. availability labels) in `lang`."""
    table = _template(lang, key)
    if not isinstance(table, dict):
        raise KeyError(f"phrase {key!r} is a sentence, not a table")
    return {str(k): str(v) for k, v in table.items()}


def lexicon(lang: str, section: str) -> Any:
    """One lexicon section (e.g. `acts`, `safety`) of one language's file."""
    return AGENT_LANGUAGES.data(lang).get(section)


def lexicons(section: str) -> dict[str, Any]:
    """The section in every language that has it: messages are read in all languages at once."""
    return AGENT_LANGUAGES.sections(section)


def locale_of(lang: str) -> str:
    """The CLDR locale to write `lang` with (English for a code CLDR does not know)."""
    return _locale(lang)


def _locale(lang: str) -> str:
    try:
        Locale.parse(base_language(lang))
    except (UnknownLocaleError, ValueError):
        return FALLBACK_LANGUAGE
    return base_language(lang)


def long_date(value: date | datetime | None, lang: str, tz: tzinfo | None = None) -> str:
    """'3 novembre 2026' / '3 November 2026'; a moment is dated in the brand's time zone `tz`
    (a page dated 2023-03-01 in Rome is 2023-02-28 in UTC)."""
    if value is None:
        return phrase(lang, "unknown_date")
    if isinstance(value, datetime) and tz is not None and value.tzinfo is not None:
        value = value.astimezone(tz)
    day = value.date() if isinstance(value, datetime) else value
    return str(format_date(day, phrase(lang, "date_format"), locale=_locale(lang)))


def day_label(day: date, today: date, lang: str) -> str:
    """'oggi', 'domani', 'domenica 29 novembre' / 'today', 'tomorrow', 'on Sunday 29 November'."""
    delta = (day - today).days
    if delta == 0:
        return phrase(lang, "today")
    if delta == 1:
        return phrase(lang, "tomorrow")
    return phrase(lang, "on_day", day=format_date(day, phrase(lang, "day_format"), locale=_locale(lang)))


def money(amount: float, currency: str, lang: str) -> str:
    return format_price(amount, currency or "EUR", _locale(lang))


def language_name(code: str, in_lang: str) -> str:
    """'inglese', 'English', 'français': a language's name as `in_lang` writes it (CLDR)."""
    try:
        return str(Locale.parse(base_language(code)).get_display_name(_locale(in_lang)) or code)
    except (UnknownLocaleError, ValueError):
        return code


def join_names(names: Sequence[str], lang: str) -> str:
    """'italiano e inglese', 'Italian and English' (CLDR list patterns)."""
    return str(format_list(list(names), locale=_locale(lang))) if names else ""
