"""Opening hours written as prose, lists or table rows ("lun–ven 9:00–19:30, domenica chiuso",
"Mon–Fri 9am–6pm", "| Lunedì | 9:00 |") → weekly hours.

Day and month names come from `knowledge.text.calendar` (CLDR plus each language's data file).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from knowledge.hours.model import MIDNIGHT, TimeRange, WeeklyHours, sorted_ranges
from knowledge.text import fold, month_words, month_words_first, weekday_abbreviations, weekday_words

_DAY_WORDS = weekday_words()
# Abbreviations are also ordinary words ("mar" = March, "su", "we", "sat"): they count as days
# only next to another day or right before hours (see `_read_days`).
_DAY_ABBREVIATIONS = weekday_abbreviations()
_DAY_LOOKUP = {**_DAY_ABBREVIATIONS, **_DAY_WORDS}

_ALL_DAYS = frozenset(range(7))
_DAY_SETS: dict[str, frozenset[int]] = {
    # "Feriali" in Italian law and usage are Monday to Saturday; "festivi" are Sundays and
    # public holidays — the holidays are not weekly hours, so it adds no weekday of its own.
    "giorni feriali": frozenset(range(6)), "feriali": frozenset(range(6)),
    "giorni lavorativi": frozenset(range(5)), "working days": frozenset(range(5)),
    "business days": frozenset(range(5)), "weekdays": frozenset(range(5)),
    "fine settimana": frozenset({5, 6}), "weekends": frozenset({5, 6}), "weekend": frozenset({5, 6}),
    "week-end": frozenset({5, 6}),
    "giorni festivi": frozenset(), "festivi": frozenset(), "festivita": frozenset(),
    "public holidays": frozenset(), "bank holidays": frozenset(), "holidays": frozenset(),
}  # fmt: skip
_EVERY_DAY = (
    r"tutti\s+i\s+giorni|ogni\s+giorno|tutta\s+la\s+settimana|7\s*giorni\s*su\s*7|7\s*/\s*7"
    r"|7\s+days\s+a\s+week|every\s*day|daily|all\s+week(?:\s+long)?"
)
_MONTHS = "|".join(sorted(month_words(), key=len, reverse=True))
_MONTHS_FIRST = "|".join(sorted(month_words_first(), key=len, reverse=True))


def _clock_pattern(n: int) -> str:
    return (
        rf"(?:(?P<h{n}>\d{{1,2}})(?:[:.h](?P<m{n}>[0-5]\d))?"
        rf"(?:\s?(?P<ap{n}>[ap]\.?\s?m\.?)(?![a-z]))?"
        rf"|(?P<w{n}>mezzogiorno|mezzanotte|noon|midday|midnight))"
    )


_TOKEN = re.compile(
    "|".join(
        [
            r"(?P<brk>\n[ \t]*\n|[.!?](?=\s+[^\s\d|]))",
            r"(?P<nl>\n)",
            r"(?P<h24>(?:(?P<h24open>open|opened|apert[oaie])\s+)?"
            r"(?:24\s*/\s*7|24\s*ore\s*su\s*24|24\s*(?:ore|hours?)(?:\s+(?:a|al)\s+(?:day|giorno))?"
            r"|h\s?24|24\s?h|round[- ]the[- ]clock|around[- ]the[- ]clock)(?![\d:./a-z]))",
            rf"(?P<every>(?:{_EVERY_DAY})(?![a-z]))",
            r"(?P<date>(?<![\d:./-])(?:\d{4}-\d{2}-\d{2}"
            r"|\d{1,2}(?P<dsep>[/.-])(?:0?[1-9]|[12]\d|3[01])(?P=dsep)(?:\d{4}|\d{2})(?!\d)"
            r"|\d{1,2}/\d{1,2}(?![\d.:])"
            rf"|\d{{1,2}}(?:°|o|st|nd|rd|th)?\s+(?:di\s+|of\s+)?(?:{_MONTHS})(?![a-z])"
            rf"|(?:{_MONTHS_FIRST})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?!\s*[-:.]\s*\d)(?![\d]))(?![a-z\d]))",
            r"(?P<range>(?<![\d./-])(?P<pre>(?:dalle|dalla|dall'|from|ore|h)\s*)?(?:ore\s*)?"
            + _clock_pattern(1)
            + r"\s*(?P<sep>-|/|to|until|till|alle|fino\s+alle)\s*(?:ore\s*)?"
            + _clock_pattern(2)
            + r"(?![\d/]))",
            r"(?P<dayset>(?:"
            + "|".join(sorted((re.escape(k) for k in _DAY_SETS), key=len, reverse=True))
            + r")(?![a-z]))",
            r"(?P<day>(?<![a-z0-9])(?:"
            + "|".join(sorted(_DAY_LOOKUP, key=len, reverse=True))
            + r")(?![a-z])\.?)",
            r"(?P<closed>chius[oaie]|chiusura|closed|riposo|off)(?![a-z])",
            r"(?P<half>mattin[ao]|mattinata|morning|pomeriggio|afternoon|sera|evening)(?![a-z])",
            r"(?P<except>tranne|eccetto|esclus[oaie]|except(?:\s+for|ing)?|excluding|ad\s+eccezione\s+d\w*)(?![a-z])",
            r"(?P<openword>apert[oaie]|apertura|open(?:s|ed)?)(?![a-z])",
            r"(?P<conn>[-,&+/;]|(?:alla|al|a|to|through|thru|till|until|fino\s+al?|e|ed|and|anche|inclus[oa]"
            r"|compres[oa]|including|also)(?![a-z]))",
            r"(?P<word>[a-z'’]+|\d+)",
        ]
    )
)
_FILLERS = frozenset({"il", "lo", "la", "i", "gli", "le", "l'", "dal", "dalla", "da", "dai", "di", "del", "della",
                      "on", "the", "every", "ogni", "from", "nei", "nel"})  # fmt: skip
_RANGE_CONNECTORS = frozenset(
    {"-", "al", "alla", "a", "to", "through", "thru", "till", "until", "fino a", "fino al"}
)
_UNITS = re.compile(
    r"\s*(?:%|€|\$|euro|eur|giorni|gg|days?|ore|hours?|hrs|minuti|min|settimane|weeks?|mesi|months?"
    r"|anni|years?|km|kg|cm|mm|pezzi|pz|persone|people|posti|anni)(?![a-z])"
)
_NOT_24H_BEFORE = re.compile(r"(?:\bin|\bentro|\bwithin|\bper|\bdopo|\bafter)\s*$")


@dataclass
class _Token:
    kind: str
    text: str
    start: int
    end: int
    value: Any = None


@dataclass
class _Group:
    days: set[int]
    ranges: list[TimeRange] = field(default_factory=list)
    closed: bool = False
    closed_halves: set[str] = field(default_factory=set)
    excluded: set[int] = field(default_factory=set)
    partial: list[tuple[frozenset[int], str]] = field(default_factory=list)
    except_mode: bool = False
    last_excluded: frozenset[int] = frozenset()
    half: str | None = None
    invalid: bool = False

    @property
    def has_spec(self) -> bool:
        return bool(self.ranges or self.closed or self.closed_halves)


_SERVICE_SPEED = re.compile(
    r"\b(express|espress\w*|consegn\w*|spedizion\w*|spedit\w*|delivery|deliver\w*|shipping|corriere|courier|"
    r"assistenza|support|help ?desk|reperibil\w*)\b"
)


def parse_hours_text(text: str) -> WeeklyHours | None:
    """Weekly hours written as Italian or English prose, lists or table rows; None if there are none.

    Hours are taken only when tied to days ("sabato 9-13", "Mon–Fri 9am–6pm", "| Lunedì | 9:00 |",
    "tutti i giorni 8-20", "domenica chiuso"); a time with no day nearby (delivery windows,
    "entro le 13") is ignored, and a day followed by a date ("domenica 8 dicembre 10-13") is a
    special opening, not weekly hours. "Aperto 24 ore su 24" with no day means every day.
    Later statements override earlier ones for the same day ("tutti i giorni 9-20, domenica 10-13").
    """
    if not text or not text.strip():
        return None
    folded_text = fold(text)
    tokens = _tokenize(folded_text)
    groups: list[_Group] = []
    cur: _Group | None = None
    prefix: list[TimeRange] = []  # hours written before their days ("dalle 9 alle 19 dal lunedì…")
    pending_closed = False  # "chiuso la domenica", "closed on Sundays"
    clause_open = False  # "aperto"/"open" seen in this clause
    dated = False  # a date earlier on this line: its days are a special opening ("dal 1 dicembre … domenica")
    orphan_24h = False

    def finish(group: _Group | None) -> None:
        if group is None or group.invalid:
            return
        if not group.has_spec and prefix:
            group.ranges = list(prefix)
        if group.has_spec:
            groups.append(group)

    def end_clause() -> None:
        nonlocal cur, prefix, pending_closed, clause_open, orphan_24h, dated
        finish(cur)
        if orphan_24h and clause_open and not groups:
            groups.append(_Group(days=set(_ALL_DAYS), ranges=[TimeRange(MIDNIGHT, MIDNIGHT)]))
        cur, prefix, pending_closed, clause_open, orphan_24h, dated = None, [], False, False, False, False

    def add_ranges(ranges: list[TimeRange], is_24h: bool = False) -> None:
        nonlocal cur, orphan_24h
        if cur is not None and cur.closed and not cur.ranges:
            finish(cur)
            cur = None
        if cur is None:
            prefix.extend(ranges)
            orphan_24h = orphan_24h or is_24h
        else:
            cur.ranges.extend(ranges)
            cur.half = None
            cur.last_excluded = frozenset()

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        kind = tok.kind
        if kind == "brk":
            end_clause()
        elif kind == "nl":
            dated = False
        elif kind in ("day", "dayset", "every"):
            days, strong, j = _read_days(tokens, i)
            if not strong and not _spec_follows(tokens, j):
                i = j
                continue
            if cur is not None and cur.except_mode:
                cur.excluded |= days
                cur.last_excluded = frozenset(days)
                cur.except_mode = False
            else:
                finish(cur)
                cur = _Group(days=set(days), closed=pending_closed, invalid=dated)
                pending_closed = False
            i = j
            continue
        elif kind == "date":
            if cur is not None and not cur.has_spec:
                cur.invalid = True
            pending_closed = False
            prefix = []
            dated = True
        elif kind == "range":
            add_ranges([tok.value])
        elif kind == "h24":
            # "Express 24h", "assistenza 24h": a delivery speed or a service, not opening hours.
            if tok.value or not _SERVICE_SPEED.search(folded_text):
                clause_open = clause_open or tok.value
                add_ranges([TimeRange(MIDNIGHT, MIDNIGHT)], is_24h=True)
        elif kind == "closed":
            if cur is None:
                pending_closed = tok.text != "off"
            elif cur.half is not None:
                cur.closed_halves.add(cur.half)
                cur.half = None
            elif _next_kind(tokens, i + 1) == "half" and cur.ranges:
                cur.closed_halves.add(tokens[_next_index(tokens, i + 1)].value)
            elif not cur.has_spec:
                cur.closed = True
            else:
                finish(cur)
                cur = None
                pending_closed = tok.text != "off"
        elif kind == "half":
            if cur is not None:
                if cur.last_excluded:
                    cur.excluded -= cur.last_excluded
                    cur.partial.append((cur.last_excluded, tok.value))
                    cur.last_excluded = frozenset()
                elif cur.closed and not cur.ranges:
                    cur.closed = False
                    cur.closed_halves.add(tok.value)
                else:
                    cur.half = tok.value
        elif kind == "except":
            if cur is not None:
                cur.except_mode = True
        elif kind == "openword":
            clause_open = True
        i += 1
    end_clause()
    return _combine(groups)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "word"
        # lastgroup is the innermost named group that matched last; find the outer kind.
        for name in ("brk", "nl", "h24", "every", "date", "range", "dayset", "day", "closed", "half", "except",
                     "openword", "conn", "word"):  # fmt: skip
            if match.group(name) is not None:
                kind = name
                break
        raw = match.group(0)
        token = _Token(kind, raw.strip(), match.start(), match.end())
        if kind == "range":
            token.value = _range_value(match, text)
            if token.value is None:
                token.kind = "word"
        elif kind == "h24":
            if not match.group("h24open") and _NOT_24H_BEFORE.search(
                text[max(0, match.start() - 12) : match.start()]
            ):
                token.kind = "word"
            token.value = bool(match.group("h24open"))
        elif kind == "day":
            word = token.text.rstrip(".")
            token.value = (_DAY_LOOKUP[word], word in _DAY_WORDS)
        elif kind == "dayset":
            token.value = _DAY_SETS[re.sub(r"\s+", " ", token.text)]
        elif kind == "half":
            token.value = "am" if token.text.startswith(("mattin", "morning")) else "pm"
        tokens.append(token)
    return tokens


def _range_value(match: re.Match[str], text: str) -> TimeRange | None:
    def part(n: int) -> tuple[int, int, str | None, bool] | None:
        word = match.group(f"w{n}")
        if word:
            return (12 if word in ("mezzogiorno", "noon", "midday") else 24, 0, None, True)
        hour = int(match.group(f"h{n}"))
        minute = match.group(f"m{n}")
        marker = match.group(f"ap{n}")
        return hour, int(minute or 0), marker[0] if marker else None, minute is not None

    first, second = part(1), part(2)
    if first is None or second is None:
        return None
    (h1, m1, ap1, exact1), (h2, m2, ap2, exact2) = first, second
    if match.group("sep") == "/" and not (exact1 and exact2):
        return None  # "24/12" is a date; only "9.00/13.00" is a range written with a slash
    if ap2 and not ap1 and h1 <= 12 and h2 <= 12:
        # "9-6pm" is 9 a.m. to 6 p.m., "1-5pm" is 1 p.m. to 5 p.m.
        ap1 = ap2 if (h1 % 12) < (h2 % 12) else ("a" if ap2 == "p" else "p")
    if ap1 and not ap2 and h2 <= 12:
        ap2 = ap1 if (h2 % 12) > (h1 % 12) else ("p" if ap1 == "a" else "a")
    open_hour, close_hour = _twelve_hour(h1, ap1), _twelve_hour(h2, ap2)
    if open_hour is None or close_hour is None or open_hour > 23 or close_hour > 24 or (close_hour == 24 and m2):
        return None
    if not (ap1 or ap2) and 0 < close_hour < open_hour < 12:
        close_hour += 12  # "Mon-Fri 9-5", "8.30-4.30": a morning opening closing "earlier" closes in the afternoon
    opens, closes = time(open_hour, m1), (MIDNIGHT if close_hour == 24 else time(close_hour, m2))
    plain = not (exact1 or exact2 or ap1 or ap2 or match.group("pre"))
    if plain and not (open_hour >= 5 or (open_hour == 0 and close_hour == 24)):
        return None  # "1-2 giorni", "0-3 anni": small bare numbers are not opening hours
    if _UNITS.match(text, match.end()):
        return None
    if opens == closes and not (opens == MIDNIGHT and close_hour == 24):
        return None
    return TimeRange(opens, closes)


def _twelve_hour(hour: int, marker: str | None) -> int | None:
    if marker is None:
        return hour
    if not 1 <= hour <= 12:
        return None
    return hour % 12 + (12 if marker == "p" else 0)


def _significant(tokens: Sequence[_Token], i: int) -> int:
    """Index of the next token that is not a filler word or transparent punctuation."""
    while i < len(tokens) and (
        tokens[i].kind == "nl"
        or (tokens[i].kind == "word" and (tokens[i].text in _FILLERS or not tokens[i].text.isalnum()))
    ):
        i += 1
    return i


def _next_index(tokens: Sequence[_Token], i: int) -> int:
    return _significant(tokens, i)


def _next_kind(tokens: Sequence[_Token], i: int) -> str | None:
    j = _significant(tokens, i)
    return tokens[j].kind if j < len(tokens) else None


def _spec_follows(tokens: Sequence[_Token], i: int) -> bool:
    """Right after a chain of abbreviations: hours, 'closed' or '24h' (punctuation in between is fine)."""
    while i < len(tokens) and tokens[i].kind == "nl":
        i += 1
    return i < len(tokens) and tokens[i].kind in ("range", "h24", "closed")


def _read_days(tokens: Sequence[_Token], i: int) -> tuple[set[int], bool, int]:
    """A chain like 'lun-ven', 'dal martedì al sabato', 'sabato e domenica', 'Mo,We,Fr'.

    Returns the days, whether any item was a full word (strong), and the index after the chain.
    """
    items: list[frozenset[int]] = []
    connectors: list[str] = []
    strong = False
    j = i
    while True:
        tok = tokens[j]
        if tok.kind == "day":
            day, is_word = tok.value
            items.append(frozenset({day}))
            strong = strong or is_word
        elif tok.kind == "dayset":
            items.append(tok.value)
            strong = True
        else:  # every
            items.append(_ALL_DAYS)
            strong = True
        end = j + 1
        # A run of connectors joins two items: "lun-ven", "tutti i giorni, anche la domenica".
        run: list[str] = []
        m = _significant(tokens, end)
        while m < len(tokens) and tokens[m].kind == "conn" and tokens[m].text != ";":
            run.append(tokens[m].text)
            m = _significant(tokens, m + 1)
        if run and m < len(tokens) and tokens[m].kind in ("day", "dayset", "every"):
            connectors.append(next((c for c in run if c in _RANGE_CONNECTORS or c == "/"), run[0]))
            j = m
            continue
        break
    days: set[int] = set(items[0])
    slash_is_range = len(items) == 2
    for index, connector in enumerate(connectors):
        before, after = items[index], items[index + 1]
        is_range = connector in _RANGE_CONNECTORS or (connector == "/" and slash_is_range)
        if is_range and len(before) == 1 and len(after) == 1:
            a, b = next(iter(before)), next(iter(after))
            days.update((a + k) % 7 for k in range((b - a) % 7 + 1))
        else:
            days.update(after)
    return days, strong, end


def _combine(groups: Sequence[_Group]) -> WeeklyHours | None:
    result: dict[int, tuple[TimeRange, ...]] = {}
    implied_closed: set[int] = set()
    partial: list[tuple[frozenset[int], str]] = []
    for group in groups:
        days = group.days - group.excluded
        ranges = [r for r in group.ranges if not any(_in_half(r, h) for h in group.closed_halves)]
        if ranges or group.closed:
            for day in days:
                result[day] = sorted_ranges(ranges)
            if ranges:
                implied_closed |= group.excluded  # "tutti i giorni tranne il lunedì"
        elif group.closed_halves:
            partial += [(frozenset(days), h) for h in group.closed_halves]
        if ranges:
            partial += group.partial
    for day in implied_closed:
        result.setdefault(day, ())
    for half_days, half in partial:
        for day in half_days:
            if day in result:
                result[day] = tuple(r for r in result[day] if not _in_half(r, half))
    if not result:
        return None
    return WeeklyHours(dict(sorted(result.items())))


def _in_half(r: TimeRange, half: str) -> bool:
    """Whether a range lies in the morning or the afternoon (a range across lunch is in neither)."""
    if half == "am":
        return not r.ends_next_day and r.closes <= time(14)
    return r.opens >= time(12)
