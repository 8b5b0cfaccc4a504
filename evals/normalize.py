"""Text normalisation for matching expectations against replies, in Italian and English.

Both the reply and the expectation go through `normalize`, so the rules only need to map the
many ways of writing one thing onto one form:

- accents, case, typographic quotes/dashes and whitespace: "Perché" ≡ "perche";
- times: "09:00", "9:00", "9.00", "9am", "alle 9" → "9.00" (the Italian style, so that a time
  and a price written "9.30" never need telling apart — only the same digits match);
- decimal commas and thousands: "6,90" ≡ "6.90", "1.250,00" ≡ "1,250.00" ≡ "1250.00";
- euros: "€ 6,90", "6,90€", "6.90 euro", "EUR 6.90" → "6.90 €", and "39,00 €" → "39 €".

`contains` then looks for a normalised phrase at word boundaries (see its docstring).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_PUNCTUATION = str.maketrans(
    {
        "\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'",
        "\u201c": '"', "\u201d": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
        "\u00a0": " ", "\u202f": " ", "\u2009": " ",
    }
)
_SPACES = re.compile(r"\s+")
_NUMBER = r"\d[\d.,]*\d|\d"
_EURO_BEFORE = re.compile(rf"(?:€|\beur\b)\s*({_NUMBER})")
_EURO_AFTER = re.compile(rf"({_NUMBER})\s*(?:€|\beuros?\b|\beur\b)")
_THOUSANDS_IT = re.compile(r"(?<![\d.,])(\d{1,3})((?:\.\d{3})+)(?:,(\d{1,2}))?(?![\d.,]\d)")
_THOUSANDS_EN = re.compile(r"(?<![\d.,])(\d{1,3})((?:,\d{3})+)(?:\.(\d{1,2}))?(?![\d.,]\d)")
_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d{1,2}(?!\d))")
_DASH_BETWEEN_NUMBERS = re.compile(r"(?<=\d)\s*-\s*(?=\d)")
_AM_PM = re.compile(r"(?<![\d.,:])(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?\s?m\b\.?")
_CLOCK = re.compile(r"(?<![\d.,:])(\d{1,2})[:.](\d{2})(?!\d)(?![.,:]\d)")
# A bare hour is a time only after a word that introduces one ("alle 9", "from 9", "until 18");
# elsewhere "10" may be a quantity or a percentage and must not become "10.00".
_HOUR_AFTER_WORD = re.compile(
    r"\b(alle|dalle|ore|entro le|fino alle|at|from|until|till)\s+(\d{1,2})(?![\d.,:]\d|\d)(?!\s*(?:€|%))"
)
_WHOLE_EUROS = re.compile(r"(?<![\d.])(\d+)\.00 €")


def normalize(text: str) -> str:
    """The canonical form used for matching; idempotent (`normalize(normalize(x)) == normalize(x)`)."""
    text = text.translate(_PUNCTUATION)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _SPACES.sub(" ", text.casefold()).strip()
    text = _EURO_BEFORE.sub(r"\1 €", text)
    text = _EURO_AFTER.sub(r"\1 €", text)
    text = _THOUSANDS_IT.sub(_join_thousands, text)
    text = _THOUSANDS_EN.sub(_join_thousands, text)
    text = _DECIMAL_COMMA.sub(".", text)
    text = _DASH_BETWEEN_NUMBERS.sub("-", text)
    text = _AM_PM.sub(_twenty_four_hour, text)
    text = _CLOCK.sub(_clock, text)
    text = _HOUR_AFTER_WORD.sub(_hour_after_word, text)
    text = _WHOLE_EUROS.sub(r"\1 €", text)
    return text


def contains(text: str, phrase: str) -> bool:
    """Whether `phrase` occurs in `text`, both normalised here.

    Boundaries: a phrase starting with a letter or digit must start a word ("closed" is not
    found in "enclosed"); a phrase ending with a digit must end the number ("9.00" is not found
    in "19.00" nor "9.000", "35" not in "350"), except that a whole number also matches its
    ".00" form ("9" matches "9:00", "39" matches "39,00 €").  A phrase ending with a letter may
    be a word prefix ("chius" matches "chiuso" and "chiusa").
    """
    return _pattern(normalize(phrase)).search(normalize(text)) is not None


@lru_cache(maxsize=4096)
def _pattern(phrase: str) -> re.Pattern[str]:
    if not phrase:
        return re.compile("")
    left = r"(?<!\w)" if re.match(r"\w", phrase[0]) else ""
    right = ""
    if phrase[-1].isdigit():
        whole = r"(?:\.00)?" if re.search(r"(?<![\d.])\d+$", phrase) else ""
        right = whole + r"(?!\d)(?![.,:]\d)"
    return re.compile(left + re.escape(phrase) + right)


def _join_thousands(match: re.Match[str]) -> str:
    whole = match.group(1) + re.sub(r"[.,]", "", match.group(2))
    return f"{whole}.{match.group(3)}" if match.group(3) else whole


def _twenty_four_hour(match: re.Match[str]) -> str:
    hour, minutes, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if not 1 <= hour <= 12 or minutes > 59:
        return match.group(0)
    hour = hour % 12 + (12 if half == "p" else 0)
    return f"{hour}.{minutes:02d}"


def _clock(match: re.Match[str]) -> str:
    hour, minutes = int(match.group(1)), int(match.group(2))
    if hour > 24 or minutes > 59:
        return match.group(0)
    return f"{hour}.{minutes:02d}"


def _hour_after_word(match: re.Match[str]) -> str:
    hour = int(match.group(2))
    if hour > 24:
        return match.group(0)
    return f"{match.group(1)} {hour}.00"
