"""What a customer message asks about: the intent lexicons of every language's data file
(`intents:` in `agent/languages/<lang>.yaml`), matched on folded text, plus the customer's own
numbers (an amount, days elapsed). The intent decides whether an answer may be computed from
structured facts (hours, price, a shipping rule) or comes from the best source's own words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from agent.phrases import lexicons
from knowledge.text import fold

# Order matters: the first intent whose lexicon matches wins when scores tie.
INTENTS = ("hours", "returns", "shipping", "warranty", "payment", "services", "price", "availability",
           "promotion", "store_info")


@cache
def _compiled(section: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for table in lexicons(section).values() for p in table or ())


@cache
def _intent_patterns() -> dict[str, tuple[re.Pattern[str], ...]]:
    out: dict[str, list[re.Pattern[str]]] = {name: [] for name in INTENTS}
    for table in lexicons("intents").values():
        for name, patterns in (table or {}).items():
            out.setdefault(name, []).extend(re.compile(p) for p in patterns or ())
    return {name: tuple(patterns) for name, patterns in out.items()}


_PRICED_TOPICS = ("returns", "shipping", "warranty", "payment", "services", "promotion")

# "35 euro", "€ 35", "35€", "35,50 EUR", "$60", "60 dollars"
_CURRENCY = r"(?:€|\$|£|eur\b|euro\b|euros\b|usd\b|gbp\b|chf\b|dollar[is]?\b|dollars\b|pounds?\b|sterlin[ae]\b|franchi\b|francs?\b)"
_NUMBER = r"\d{1,3}(?:[.,]\d{3})+(?:[.,]\d{1,2})?|\d{1,6}(?:[.,]\d{1,2})?"
_AMOUNT = re.compile(
    rf"(?:€|\$|£|eur|usd|gbp|chf)\s*({_NUMBER})|({_NUMBER})\s*{_CURRENCY}",
)


@dataclass(frozen=True)
class Intent:
    name: str  # one of INTENTS or "general"
    scores: dict[str, int]
    amount: float | None = None  # a money amount the customer gave ("se spendo 35 euro")


def detect_intent(text: str) -> Intent:
    folded = fold(text)
    scores = {name: sum(1 for rx in patterns if rx.search(folded)) for name, patterns in _intent_patterns().items()}
    scores = {k: v for k, v in scores.items() if v}
    amount = parse_amount(folded)
    name = "general"
    if scores:
        best = max(scores.values())
        name = next(n for n in (*INTENTS, *scores) if scores.get(n) == best)
        # "Quanto costa la spedizione / il reso / il noleggio?" asks the cost of a topic, not of a
        # product: the topic decides.
        if name == "price":
            name = next((t for t in _PRICED_TOPICS if t in scores), name)
        if name in ("price", "availability") and "promotion" in scores and scores["promotion"] >= best:
            name = "promotion"
    return Intent(name=name, scores=scores, amount=amount)


def parse_amount(folded_text: str) -> float | None:
    match = _AMOUNT.search(folded_text)
    if not match:
        return None
    return parse_number(match.group(1) or match.group(2))


def parse_number(raw: str) -> float:
    """'1.299,00' / '1,299.00' / '1.299' → 1299.0; '6,90' → 6.9: the last separator is the
    decimal one unless exactly three digits follow it (then it groups thousands)."""
    separators = [i for i, ch in enumerate(raw) if ch in ".,"]
    if not separators:
        return float(raw)
    last = separators[-1]
    decimals = raw[last + 1 :]
    digits = raw.replace(".", "").replace(",", "")
    if len(decimals) == 3 and len({raw[i] for i in separators}) == 1:
        return float(digits)
    return float(f"{digits[: len(digits) - len(decimals)]}.{decimals}")


def asks_open_status(folded_text: str) -> bool:
    """"Is it open?" (a status at a moment) rather than "what are the hours?" (a schedule)."""
    return any(p.search(folded_text) for p in _compiled("open_status")) and not any(
        p.search(folded_text) for p in _compiled("schedule")
    )


@cache
def _elapsed() -> tuple[re.Pattern[str], dict[str, int], dict[str, int]]:
    numbers: dict[str, int] = {}
    units: dict[str, int] = {}
    ago: list[str] = []
    for table in lexicons("elapsed").values():
        numbers.update({str(k): int(v) for k, v in (table.get("numbers") or {}).items()})
        units.update({str(k): int(v) for k, v in (table.get("units") or {}).items()})
        ago += [str(w) for w in table.get("ago") or ()]
    count = "|".join([r"\d{1,3}", *sorted(map(re.escape, numbers), key=len, reverse=True)])
    unit = "|".join(rf"{re.escape(u)}\w*" for u in sorted(units, key=len, reverse=True))
    pattern = re.compile(rf"\b({count})\s+({unit})\s+({'|'.join(map(re.escape, ago))})\b")
    return pattern, numbers, units


def elapsed_days(folded_text: str) -> int | None:
    """"40 giorni fa", "three weeks ago" → days elapsed, for rules with a window (returns)."""
    pattern, numbers, units = _elapsed()
    match = pattern.search(folded_text)
    if not match:
        return None
    raw, unit = match.group(1), match.group(2)
    count = int(raw) if raw.isdigit() else numbers[raw]
    factor = next(days for prefix, days in sorted(units.items(), key=lambda u: -len(u[0])) if unit.startswith(prefix))
    return count * factor
