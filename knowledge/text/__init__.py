from knowledge.text.dates import (
    DAY_LIST,
    DAY_PATTERN,
    DAY_SPAN,
    DAY_WORDS,
    ISO_DATE,
    MONTH_NUMBERS,
    MONTH_PATTERN,
    MONTHS,
    dates_in,
    make_date,
    without_weekdays,
)
from knowledge.text.fold import fold, slug, stable_key, words
from knowledge.text.language import SUPPORTED_LANGUAGES, detect_language, warm_up
from knowledge.text.offers import format_price, parse_availability, parse_price
from knowledge.text.stems import content_words, search_tokens, stems
from knowledge.text.when import When, resolve_when

__all__ = [
    'DAY_LIST',
    'DAY_PATTERN',
    'DAY_SPAN',
    'DAY_WORDS',
    'ISO_DATE',
    'MONTHS',
    'MONTH_NUMBERS',
    'MONTH_PATTERN',
    'SUPPORTED_LANGUAGES',
    'When',
    'content_words',
    'dates_in',
    'detect_language',
    'fold',
    'format_price',
    'make_date',
    'parse_availability',
    'parse_price',
    'resolve_when',
    'search_tokens',
    'slug',
    'stable_key',
    'stems',
    'warm_up',
    'without_weekdays',
    'words',
]
