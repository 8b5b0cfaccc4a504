"""Which day (and time) a customer's question is about: "domani alle 18", "on Sunday", "a Natale".

Everything is relative to `now` (tz-aware, the brand's timezone) so the same question resolves
the same way in tests and in production. The parser is table-driven and works on folded text
(lower case, no accents), so "Lunedì", "lunedi" and "LUNEDÌ" read alike; Italian and English
are both always understood because customers mix them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays
from dateutil.easter import easter

from knowledge.text.calendar import month_words, month_words_first, weekday_words
from knowledge.text.normalize import fold


@dataclass(frozen=True)
class When:
    """The day a question is about; `time` when it names one; `is_now` for "adesso"/"right now"."""

    day: date
    time: time | None
    is_now: bool
    phrase: str


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    day: date | None  # None: "now"


_MONTHS = month_words()
# Month-first dates ("December 26") come from languages that write them so (CLDR); ambiguous
# abbreviations ("mar", "set") never open one.
_MONTHS_FIRST = list(month_words_first())
_WEEKDAYS = weekday_words(plurals=False)
_RELATIVE = {
    "the day after tomorrow": 2, "day after tomorrow": 2, "dopodomani": 2,
    "domani mattina": 1, "domattina": 1, "domani": 1, "tomorrow": 1,
    "oggi": 0, "today": 0, "stamattina": 0, "stamani": 0, "stasera": 0, "stanotte": 0, "tonight": 0,
    "this morning": 0, "this afternoon": 0, "this evening": 0,
    "ieri": -1, "yesterday": -1,
}  # fmt: skip
_NOW = re.compile(
    r"\b(?:in questo momento|al momento|ora come ora|adesso|attualmente|right now|at the moment"
    r"|at this moment|currently|now)\b"
    # "ora" is "now" but also "hour": not in "a che ora", "l'ora di chiusura", "ora legale".
    r"|(?<!che )(?<!quale )(?<!ogni )(?<!l')(?<!un')(?<!mezz')\bora\b(?!\s+(?:di|del|della|legale|solare|esatta|locale|in cui)\b)"
)

# Holidays customers name colloquially. `names` are looked up in the country's own calendar
# (the `holidays` package, in its languages) so the date is the country's; `rule` is used when
# the calendar has no such holiday: a fixed (month, day) or days after western Easter. The eves
# are never public holidays, hence always by rule.
_HOLIDAYS: list[tuple[tuple[str, ...], tuple[str, ...], tuple[str, int, int] | None]] = [
    (("la vigilia di natale", "vigilia di natale", "la vigilia", "christmas eve", "xmas eve"), (), ("fixed", 12, 24)),
    (("notte di san silvestro", "san silvestro", "vigilia di capodanno", "notte di capodanno",
      "ultimo dell'anno", "new year's eve", "new years eve"), (), ("fixed", 12, 31)),
    (("santo stefano", "boxing day", "st stephen's day", "st. stephen's day", "saint stephen's day"),
     ("santo stefano", "stephen", "boxing day"), ("fixed", 12, 26)),
    (("giorno di natale", "christmas day", "natale", "christmas", "xmas"), ("natale", "christmas day"),
     ("fixed", 12, 25)),
    (("capodanno", "primo dell'anno", "new year's day", "new years day", "new year's", "new year"),
     ("capodanno", "new year's day"), ("fixed", 1, 1)),
    (("epifania", "befana", "epiphany"), ("epifania", "epiphany"), ("fixed", 1, 6)),
    (("pasquetta", "lunedi dell'angelo", "lunedi di pasqua", "easter monday"),
     ("lunedi dell'angelo", "easter monday"), ("easter", 1, 0)),
    (("domenica di pasqua", "pasqua", "easter sunday", "easter"), ("pasqua", "easter sunday", "easter"),
     ("easter", 0, 0)),
    (("venerdi santo", "good friday"), ("venerdi santo", "good friday"), ("easter", -2, 0)),
    (("ferragosto", "festa dell'assunzione", "assumption day", "feast of the assumption"),
     ("assunzione", "assumption"), ("fixed", 8, 15)),
    (("l'immacolata", "immacolata", "immaculate conception"), ("immacolata", "immaculate"), ("fixed", 12, 8)),
    (("ognissanti", "tutti i santi", "all saints' day", "all saints day", "all saints"),
     ("ognissanti", "all saints"), ("fixed", 11, 1)),
    (("primo maggio",), ("festa del lavoro", "festa dei lavoratori", "labor day", "labour day"), ("fixed", 5, 1)),
    # National days differ by country: only the country's own calendar can date them.
    (("festa della liberazione", "liberation day"), ("liberazione", "liberation"), None),
    (("festa dei lavoratori", "festa del lavoro", "labour day", "labor day"),
     ("festa del lavoro", "festa dei lavoratori", "labor day", "labour day"), None),
    (("festa della repubblica", "republic day"), ("repubblica", "republic day"), None),
]  # fmt: skip
_HOLIDAY_PHRASES = {phrase: index for index, (phrases, _, _) in enumerate(_HOLIDAYS) for phrase in phrases}


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))


_MONTH_RE = _alternation(_MONTHS)
_DAY_PATTERNS = re.compile(
    "|".join(
        [
            r"(?P<iso>\b(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})\b)",
            r"(?P<num>(?<![\d/.:-])(?P<na>\d{1,2})(?P<ns>[/.-])(?P<nb>\d{1,2})"
            r"(?:(?P=ns)(?P<ny>\d{4}|\d{2}))?(?![\d:]|[/.-]\d)"
            r"(?!\s*(?:anni|years|mesi|months|cm|mm|kg|pollici|inch|%)))",  # "taglia 10/12 anni" is a size
            rf"(?P<dm>\b(?P<dmd>\d{{1,2}}|primo)(?:°|o|st|nd|rd|th)?\s+(?:di\s+|of\s+)?(?P<dmm>{_MONTH_RE})\b\.?"
            r"(?:\s+(?P<dmy>\d{4})\b)?)",
            rf"(?P<md>\b(?P<mdm>{_alternation(_MONTHS_FIRST)})\.?\s+(?:the\s+)?(?P<mdd>\d{{1,2}})(?:st|nd|rd|th)?\b"
            r"(?!\s*[:.]\d)(?:,?\s+(?P<mdy>\d{4})\b)?)",
            rf"(?P<hol>(?<!babbo )\b(?:{_alternation(_HOLIDAY_PHRASES)})(?![a-z]))",
            rf"(?P<rel>\b(?:{_alternation(_RELATIVE)})\b)",
            r"(?P<wd>\b(?:(?P<wpre>questo|questa|this|next|prossimo|prossima|coming|last|scorso|scorsa)\s+)?"
            rf"(?P<wday>{_alternation(_WEEKDAYS)})s?\b"
            r"(?:\s+(?P<wpost>prossim[oaie]|scors[oaie]|next|prossimo))?)",
            r"(?P<we>\b(?:(?P<wepre>questo|this|next|prossimo|nel|il|the|on\s+the)\s+)?"
            r"(?:weekend|week-end|fine\s+settimana)\b(?:\s+(?P<wepost>prossimo))?)",
        ]
    )
)
_UNITS = r"(?!\s*(?:ore|hours?|h\b|giorni|days?|minuti|minutes?|min\b|settimane|weeks?|mesi|months?|anni|years?|%|€|euro))"
_TIME = re.compile(
    "|".join(
        [
            r"(?P<pre>\b(?:alle|all'|verso\s+le|dopo\s+le|entro\s+le|prima\s+delle|per\s+le|dalle|fino\s+alle|ore"
            r"|at|by|after|before|around|about|from|until|till|h)\s*(?P<ph>\d{1,2})(?:[:.](?P<pm>\d{2}))?(?![\d/])"
            r"(?:\s*(?P<pap>[ap])\.?\s?m\b\.?)?"
            r"(?:\s+e\s+(?P<phalf>mezza|mezzo|un\s+quarto|tre\s+quarti))?" + _UNITS + ")",
            r"(?P<clock>(?<![\d/.:-])(?P<ch>\d{1,2})[:.](?P<cm>[0-5]\d)(?![\d]|[/.-]\d)(?:\s*(?P<cap>[ap])\.?\s?m\b\.?)?)",
            r"(?P<ampm>(?<![\d/.:-])\b(?P<ah>\d{1,2})\s*(?P<aap>[ap])\.?\s?m\b\.?)",
            r"(?P<noon>\b(?:mezzogiorno|noon|midday)\b)",
        ]
    )
)
_PM_WORDS = re.compile(
    r"(?<!buona )(?<!good )\b(?:sera|stasera|pomeriggio|evening|afternoon|tonight|stanotte)\b"
)
_AM_WORDS = re.compile(r"\b(?:mattina|mattino|stamattina|stamani|domattina|morning|di notte|at night)\b")
_PM_AFTER = re.compile(r"\s*(?:di|del|della|in the|this)\s+(?:sera|pomeriggio|evening|afternoon)\b")


def resolve_when(text: str, now: datetime, *, lang: str | None = None, country: str = "IT") -> When | None:
    """The date (and time) `text` asks about, relative to `now`; None when it names neither.

    Days: oggi/today, domani/tomorrow, dopodomani, weekdays ("sabato", "next Monday": the next
    such day, today included — but "next"/"prossimo" on that very weekday means a week later),
    weekend, explicit dates ("25 dicembre", "24/12", "December 26", "26/12/2026"; a date
    already past this year means next year's) and holidays by name in Italian and English
    (dated by the `country` calendar of the `holidays` package). "Adesso"/"now" gives `now`
    itself. A time ("alle 18", "at 6pm") with no day is today. `lang` is accepted for symmetry
    with the other resolvers: both languages are always read.
    """
    if now.tzinfo is None:
        raise ValueError("resolve_when needs a timezone-aware `now` in the brand's timezone")
    folded = fold(text)
    today = now.date()
    month_first = country.upper() == "US" and lang != "it"

    days: list[_Match] = []
    for match in _DAY_PATTERNS.finditer(folded):
        day = _day_of(match, today, country.upper(), month_first)
        if day is not None:
            days.append(_Match(match.start(), match.end(), day))
    days += _calendar_matches(folded, today, country.upper(), days)
    days = _drop_weekday_next_to_date(days, folded)
    for match in _NOW.finditer(folded):
        days.append(_Match(match.start(), match.end(), None))
    days.sort(key=lambda m: m.start)

    clock = _first_time(folded, [m for m in days if m.day is not None])
    first = days[0] if days else None
    asked_day = today
    if first is not None:
        if first.day is None:
            return When(today, now.time().replace(tzinfo=None), True, text[first.start : first.end].strip())
        asked_day = first.day
    if first is None and clock is None:
        return None
    spans = sorted(
        s for s in ((first.start, first.end) if first else None, clock[1:] if clock else None) if s
    )
    if len(spans) == 2 and 0 <= spans[1][0] - spans[0][1] <= 4:
        spans = [(spans[0][0], spans[1][1])]  # "at 6pm on Sunday" reads better whole
    phrase = " ".join(text[a:b].strip() for a, b in spans)
    return When(asked_day, clock[0] if clock else None, False, phrase)


def _day_of(match: re.Match[str], today: date, country: str, month_first: bool) -> date | None:
    kind = match.lastgroup
    for name in ("iso", "num", "dm", "md", "hol", "rel", "wd", "we"):
        if match.group(name) is not None:
            kind = name
            break
    try:
        if kind == "iso":
            return date(int(match["iy"]), int(match["im"]), int(match["id"]))
        if kind == "num":
            a, b = int(match["na"]), int(match["nb"])
            if match["ns"] != "/" and not match["ny"]:
                return None  # "9.30", "9-13": times and ranges, not dates
            day, month = (b, a) if month_first else (a, b)
            if month > 12 >= day:
                day, month = month, day  # "25/12" from a US customer is still Christmas
            return _dated(day, month, match["ny"], today)
        if kind == "dm":
            day = 1 if match["dmd"] == "primo" else int(match["dmd"])
            return _dated(day, _MONTHS[_squash(match["dmm"])], match["dmy"], today)
        if kind == "md":
            return _dated(int(match["mdd"]), _MONTHS[_squash(match["mdm"])], match["mdy"], today)
    except ValueError:
        return None
    if kind == "hol":
        return _holiday(_HOLIDAY_PHRASES[_squash(match["hol"])], today, country)
    if kind == "rel":
        return today + timedelta(days=_RELATIVE[_squash(match["rel"])])
    if kind == "wd":
        target = _WEEKDAYS[match["wday"]]
        marker = match["wpre"] or match["wpost"] or ""
        ahead = (target - today.weekday()) % 7
        if marker.startswith(("last", "scors")):
            return today - timedelta(days=(today.weekday() - target) % 7 or 7)
        if ahead == 0 and marker.startswith(("next", "prossim")):
            ahead = 7  # "lunedì prossimo" said on a Monday is a week away
        return today + timedelta(days=ahead)
    if kind == "we":
        if today.weekday() >= 5 and not (match["wepre"] == "next" or match["wepost"]):
            return today
        return today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    return None


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip())


def _dated(day: int, month: int, year: str | None, today: date) -> date:
    if year:
        full = int(year) + (2000 if len(year) == 2 else 0)
        return date(full, month, day)
    for candidate in range(today.year, today.year + 8):  # 29 February waits for a leap year
        try:
            found = date(candidate, month, day)
        except ValueError:
            if not (month == 2 and day == 29):
                raise
            continue
        if found >= today:
            return found
    raise ValueError(f"no such date {day}/{month}")


def _drop_weekday_next_to_date(days: list[_Match], folded: str) -> list[_Match]:
    """'sabato 26 dicembre', 'Saturday, December 26': the date says it all."""
    explicit = [m for m in days if _is_explicit(folded[m.start : m.end])]
    out = []
    for m in days:
        near = any(e is not m and (0 <= e.start - m.end <= 2 or 0 <= m.start - e.end <= 2) for e in explicit)
        if near and _is_weekday(folded[m.start : m.end]):
            continue
        out.append(m)
    return out


def _is_explicit(span: str) -> bool:
    return any(ch.isdigit() for ch in span) or any(_MONTHS.get(w) for w in span.split())


def _is_weekday(span: str) -> bool:
    return any(w.rstrip("s") in _WEEKDAYS or w in _WEEKDAYS for w in span.split())


def _first_time(folded: str, days: list[_Match]) -> tuple[time, int, int] | None:
    taken = [(m.start, m.end) for m in days]
    for match in _TIME.finditer(folded):
        if any(a < match.end() and match.start() < b for a, b in taken):
            continue
        value = _time_of(match, folded)
        if value is not None:
            return value, match.start(), match.end()
    return None


def _time_of(match: re.Match[str], folded: str) -> time | None:
    if match["noon"]:
        return time(12)
    hour_text = match["ph"] or match["ch"] or match["ah"]
    minute_text = match["pm"] or match["cm"]
    marker = match["pap"] or match["cap"] or match["aap"]
    hour, minute = int(hour_text), int(minute_text or 0)
    half = match["phalf"]
    if half:
        minute = {"mezza": 30, "mezzo": 30, "un quarto": 15, "tre quarti": 45}[_squash(half)]
    if marker:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if marker == "p" else 0)
    elif 1 <= hour <= 11 and (_PM_AFTER.match(folded, match.end()) or _PM_WORDS.search(folded)):
        hour += 12
    elif 1 <= hour <= 6 and not _AM_WORDS.search(folded):
        # Nobody asks a shop about 5 a.m.: "alle 5", "at 6" mean the afternoon.
        hour += 12
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _holiday(index: int, today: date, country: str) -> date | None:
    _, names, rule = _HOLIDAYS[index]
    for year in (today.year, today.year + 1):
        for day, name in _calendar(country, year):
            if day >= today and any(n in name for n in names):
                return day
    if rule is None:
        return None
    kind, a, b = rule
    for year in (today.year, today.year + 1):
        day = date(year, a, b) if kind == "fixed" else easter(year) + timedelta(days=a)
        if day >= today:
            return day
    return None


@lru_cache(maxsize=64)
def _calendar(country: str, year: int) -> tuple[tuple[date, str], ...]:
    """The country's public holidays of one year, names folded, in every Italian or English
    translation the `holidays` package has plus the country's default language."""
    try:
        base = holidays.country_holidays(country, years=year)
    except NotImplementedError:
        return ()
    languages = {base.default_language} | {
        lang for lang in base.supported_languages if lang.startswith(("it", "en"))
    }
    out: list[tuple[date, str]] = []
    for lang in sorted(filter(None, languages)):
        for day, names in holidays.country_holidays(country, years=year, language=lang).items():
            out += [(day, fold(n.strip())) for n in names.split(";")]
    return tuple(sorted(set(out)))


def _calendar_matches(folded: str, today: date, country: str, found: list[_Match]) -> list[_Match]:
    """Any other public holiday of the country named as the calendar names it ("Thanksgiving",
    "Festa di San Francesco"), dated to its next occurrence."""
    out: list[_Match] = []
    for year in (today.year, today.year + 1):
        pattern, dates = _calendar_pattern(country, year)
        if pattern is None:
            continue
        for match in pattern.finditer(folded):
            day = dates[_squash(match.group(0))]
            overlaps = any(m.start < match.end() and match.start() < m.end for m in found + out)
            if day >= today and not overlaps:
                out.append(_Match(match.start(), match.end(), day))
    return out


@lru_cache(maxsize=64)
def _calendar_pattern(country: str, year: int) -> tuple[re.Pattern[str] | None, dict[str, date]]:
    dates: dict[str, date] = {}
    for day, name in _calendar(country, year):
        name = re.sub(r"\s*\([^)]*\)", "", name).strip()
        variants = {name}
        if name.endswith(" day") and len(name) >= 14:
            variants.add(name.removesuffix(" day"))  # "thanksgiving day" is asked as "thanksgiving"
        for variant in variants:
            if len(variant) >= 5:
                dates.setdefault(variant, day)
    if not dates:
        return None, {}
    return re.compile(rf"(?<![a-z])(?:{_alternation(list(dates))})(?![a-z])"), dates
