"""What a customer message asks about, from Italian and English phrasing.

Lexicons are data: one tuple of regexes per intent, matched on accent-folded text.  The intent
decides whether the composer answers from structured facts (hours, price, shipping rule...) or
from the best supporting sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.text import fold

# Order matters: the first intent whose lexicon matches wins when scores tie.
INTENT_LEXICON: dict[str, tuple[str, ...]] = {
    "hours": (
        r"\borar[io]\b", r"\bapert[oaie]\b", r"\bapr(e|ite|ono)\b", r"\bchiu(de|dete|dono|so|sa|si)\b",
        r"\bfate orario\b", r"\bcontinuato\b", r"\bche ora\b", r"\ba che ora\b", r"\bfino a che ora\b",
        r"\bopening hours?\b", r"\bhours\b", r"\bopen\b", r"\bclos(e|ed|es|ing)\b", r"\bwhat time\b",
    ),
    "returns": (
        r"\bres[oi]\b", r"\brestitu\w+", r"\brimbors\w+", r"\brecesso\b", r"\bcambi(o|are)\b",
        r"\breturn(s|ed|ing)?\b", r"\brefund\w*", r"\bexchange\b", r"\bsend (it )?back\b",
    ),
    "shipping": (
        r"\bspedizion[ei]\b", r"\bspedi(te|re|sc)\w*", r"\bconsegn[aei]\w*", r"\bcorriere\b", r"\brecapit\w+",
        r"\bship(ping|ped|s)?\b", r"\bdeliver(y|ed|ies)?\b", r"\bcourier\b", r"\bpostage\b",
    ),
    "warranty": (r"\bgaranzi\w+", r"\bwarrant\w+", r"\bguarantee\w*"),
    "payment": (
        r"\bpagament\w+", r"\bpag(o|are|ate|hi)\b", r"\bcart[ae] di credito\b", r"\bpaypal\b", r"\bsatispay\b",
        r"\bbonifico\b", r"\brate(ale|izza\w*)?\b", r"\bfinanziament\w+", r"\bcontrassegno\b",
        r"\bpay(ment|ments|ing)?\b", r"\bcredit card\b", r"\binstal(l)?ments?\b", r"\bcash on delivery\b",
    ),
    "services": (
        r"\bparcheggi\w*", r"\bofficin\w+", r"\bripar\w+", r"\bnoleggi\w*", r"\bservizi\b", r"\bassistenza tecnica\b",
        r"\bparking\b", r"\brepair\w*", r"\bworkshop\b", r"\brental\b", r"\brent\b", r"\bservices?\b", r"\bfitting\b",
    ),
    "price": (
        r"\bquanto cost\w+", r"\bprezz\w+", r"\bcost(a|ano|o)\b", r"\bquanto viene\b",
        r"\bhow much\b", r"\bprice\w*", r"\bcost(s)?\b",
    ),
    "availability": (
        r"\bdisponibil\w+", r"\bin stock\b", r"\bescaurit\w+",
        r"\besaurit\w+", r"\bmagazzino\b", r"\bavailab\w+", r"\bout of stock\b", r"\bdo you have\b",
    ),
    "promotion": (
        r"\bpromo\w*", r"\bscont[io]\b", r"\bofferta\w*", r"\bofferte\b", r"\bsaldi\b", r"\bcoupon\b",
        r"\bcodice sconto\b", r"\bblack friday\b", r"-?\b\d{1,2} ?%", r"\bdiscount\w*", r"\bsale\b", r"\bdeal(s)?\b", r"\boffer(s)?\b",
    ),
    "store_info": (
        r"\bindirizz\w+", r"\bdove (si trova|siete|e)\b", r"\btelefon\w+", r"\bnumero\b", r"\bnegozi\b",
        r"\baddress\b", r"\bwhere (is|are)\b", r"\bphone\b", r"\blocation\w*", r"\bstores\b",
    ),
}

_PRICED_TOPICS = ("returns", "shipping", "warranty", "payment", "services", "promotion")
_COMPILED = {name: tuple(re.compile(p) for p in patterns) for name, patterns in INTENT_LEXICON.items()}

# "35 euro", "€ 35", "35€", "35,50 EUR", "$60", "60 dollars"
_CURRENCY = r"(?:€|\$|£|eur\b|euro\b|euros\b|usd\b|gbp\b|chf\b|dollar[is]?\b|dollars\b|pounds?\b|sterlin[ae]\b|franchi\b|francs?\b)"
_NUMBER = r"\d{1,3}(?:[.,]\d{3})+(?:[.,]\d{1,2})?|\d{1,6}(?:[.,]\d{1,2})?"
_AMOUNT = re.compile(
    rf"(?:€|\$|£|eur|usd|gbp|chf)\s*({_NUMBER})|({_NUMBER})\s*{_CURRENCY}",
)


@dataclass(frozen=True)
class Intent:
    name: str  # one of INTENT_LEXICON's keys or "general"
    scores: dict[str, int]
    amount: float | None = None  # a money amount the customer gave ("se spendo 35 euro")


def detect_intent(text: str) -> Intent:
    folded = fold(text)
    scores = {name: sum(1 for rx in patterns if rx.search(folded)) for name, patterns in _COMPILED.items()}
    scores = {k: v for k, v in scores.items() if v}
    amount = parse_amount(folded)
    name = "general"
    if scores:
        best = max(scores.values())
        name = next(n for n in INTENT_LEXICON if scores.get(n) == best)
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


_STATUS = re.compile(r"\b(apert[oaie]|open|chius[oaie]|closed|still open|ancora aperto)\b")
_SCHEDULE = re.compile(r"\b(orar[io]|hours|schedule|che ora|what time|a che ora|fino a che ora|until when)\b")
_ELAPSED = re.compile(
    r"\b(\d{1,3}|una|un|one|two|three|four|due|tre|quattro|cinque|five|sei|six)\s+"
    r"(giorni|giorno|settimane|settimana|mesi|mese|days|day|weeks|week|months|month)\s+(fa|ago)\b"
)
_NUMBER_WORDS = {"un": 1, "una": 1, "one": 1, "due": 2, "two": 2, "tre": 3, "three": 3, "quattro": 4, "four": 4,
                 "cinque": 5, "five": 5, "sei": 6, "six": 6}
_UNIT_DAYS = {"giorn": 1, "day": 1, "settiman": 7, "week": 7, "mes": 30, "month": 30}


def asks_open_status(folded_text: str) -> bool:
    """"Is it open?" (a status at a moment) rather than "what are the hours?" (a schedule)."""
    return bool(_STATUS.search(folded_text)) and not _SCHEDULE.search(folded_text)


def elapsed_days(folded_text: str) -> int | None:
    """"40 giorni fa", "three weeks ago" → days elapsed, for rules with a window (returns)."""
    match = _ELAPSED.search(folded_text)
    if not match:
        return None
    raw, unit = match.group(1), match.group(2)
    count = int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]
    factor = next(days for prefix, days in _UNIT_DAYS.items() if unit.startswith(prefix))
    return count * factor
