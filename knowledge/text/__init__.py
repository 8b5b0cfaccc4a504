"""Text: one fold, words and stems, dates and date phrases, prices and stock words, language
detection, and the per-language data (CLDR calendar names plus one data file per language)."""

from knowledge.text.calendar import (
    month_first,
    month_words,
    month_words_first,
    weekday_abbreviations,
    weekday_name,
    weekday_words,
)
from knowledge.text.dates import (
    DAY_LIST,
    DAY_PATTERN,
    DAY_SPAN,
    DAY_WORDS,
    ISO_DATE,
    MONTH_DAY,
    MONTH_NUMBERS,
    MONTH_PATTERN,
    MONTHS,
    dates_in,
    infer_year,
    make_date,
    without_weekdays,
)
from knowledge.text.language import SUPPORTED_LANGUAGES, detect_language, warm_up
from knowledge.text.lexical import content_words, search_tokens, stems
from knowledge.text.lexicon import (
    FALLBACK_LANGUAGE,
    LANGUAGES,
    LanguageFiles,
    base_language,
    language_data,
    phrase_table,
)
from knowledge.text.normalize import fold, slug, stable_key, words
from knowledge.text.offers import AVAILABILITY, format_price, parse_availability, parse_price
from knowledge.text.updated import DATE_AT_START, UPDATE_STATEMENT, without_update_statements
from knowledge.text.when import When, resolve_when

__all__ = [
    "DATE_AT_START",
    "UPDATE_STATEMENT",
    "AVAILABILITY",
    "DAY_LIST",
    "DAY_PATTERN",
    "DAY_SPAN",
    "DAY_WORDS",
    "FALLBACK_LANGUAGE",
    "ISO_DATE",
    "LANGUAGES",
    "LanguageFiles",
    "MONTHS",
    "MONTH_DAY",
    "MONTH_NUMBERS",
    "MONTH_PATTERN",
    "SUPPORTED_LANGUAGES",
    "When",
    "base_language",
    "content_words",
    "dates_in",
    "detect_language",
    "fold",
    "format_price",
    "infer_year",
    "language_data",
    "make_date",
    "month_first",
    "month_words",
    "month_words_first",
    "parse_availability",
    "parse_price",
    "phrase_table",
    "resolve_when",
    "search_tokens",
    "slug",
    "stable_key",
    "stems",
    "warm_up",
    "weekday_abbreviations",
    "weekday_name",
    "weekday_words",
    "without_update_statements",
    "without_weekdays",
    "words",
]
