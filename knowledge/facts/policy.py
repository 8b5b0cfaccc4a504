"""Policy numbers customers ask about, read from sentences and table rows (Italian and English).

| policy (subject ``policy:{name}``) | unit  | read from, e.g.                                              |
|------------------------------------|-------|--------------------------------------------------------------|
| ``shipping_cost``                  | EUR…  | "la spedizione standard costa 6,90 €", row "Standard | 6,90 €" |
| ``express_shipping_cost``          | EUR…  | "la spedizione Express 24h costa 12,90 €", row "Express | …"   |
| ``free_shipping_threshold``        | EUR…  | "gratuita per ordini da 49 €", "free on orders of €49 or more" |
| ``return_days``                    | days  | "30 giorni per il reso", "return … within 30 days"            |
| ``refund_days``                    | days  | "rimborsiamo entro 14 giorni", "we refund within 14 days"     |
| ``warranty_years``                 | years | "garanzia legale di 2 anni", "2-year guarantee"               |

Only unambiguous statements count: the number must be tied to its keyword by a pattern, not
merely share a sentence with it. Sentences about surcharges (islands, remote areas), worked
examples ("ordine da 30 €: 6,90 € + 5 € = 11,90 €") and warranties of one component (frames,
batteries, motors) are skipped. If one document states two different values for a policy,
neither is kept: the document is ambiguous and a person should look.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from knowledge.facts.model import Fact, FactOrigin
from knowledge.text import fold, format_price, parse_price

# The unit of each policy; "money" is the currency written with the amount (EUR when none is).
POLICY_UNITS = {
    "shipping_cost": "money",
    "express_shipping_cost": "money",
    "free_shipping_threshold": "money",
    "return_days": "days",
    "refund_days": "days",
    "warranty_years": "years",
}

# An amount with its currency on either side: "6,90 €", "€6.90", "49 euro", "EUR 12.90", "$50".
_CURRENCY = r"(?:€|\$|£|eur|euro|usd|gbp|chf)"
_NUMBER = r"\d{1,5}(?:[.,]\d{3})*(?:[.,]\d{1,2})?"
_AMOUNT = rf"(?:{_CURRENCY}\s?{_NUMBER}|{_NUMBER}\s?{_CURRENCY}(?![a-z]))"
_GAP = r"[^.;:€\n|]{0,45}?"  # words between a keyword and its number: no sentence or cell break
_EXPRESS = (
    r"(?:express|espress[oa]|rapid[oa]|veloce|prioritari[oa]|priority|premium|24\s?h|24 ore|next[- ]day)"
)
_STANDARD = r"(?:standard|ordinari[oa]|normale|base|classic[oa]|regular)"
_SHIPPING = r"(?:spedizion[ei]|consegn[ae]|shipping|delivery|postage)"

_PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "express_shipping_cost": [
        re.compile(
            rf"{_EXPRESS}{_GAP}\b(?:cost[ao]?|costs?|is|e di|prezzo|price)\s+(?:di\s+|of\s+)?(?:solo\s+|only\s+)?(?P<n>{_AMOUNT})"
        ),
        re.compile(rf"{_SHIPPING}\s+{_EXPRESS}{_GAP}(?:\(|:|-)?\s*(?P<n>{_AMOUNT})"),
    ],
    "shipping_cost": [
        re.compile(
            rf"{_SHIPPING}(?P<gap>{_GAP})\b(?:cost[ao]?|costs?|e di|is)\s+(?:di\s+|of\s+)?(?:solo\s+|only\s+)?(?P<n>{_AMOUNT})"
        ),
        re.compile(
            rf"{_STANDARD}\s+{_SHIPPING}(?P<gap>{_GAP})\b(?:cost[ao]?|costs?|is)\s+(?:di\s+|of\s+)?(?P<n>{_AMOUNT})"
        ),
        re.compile(
            rf"(?:costo|costi|prezzo|tariffa) (?:della |di )?{_SHIPPING}(?P<gap>{_GAP})\b(?:e|e di|di)\s+(?P<n>{_AMOUNT})"
        ),
        # "spedizione standard: 4,90 €", "standard shipping: $5" (the amount right after the colon)
        re.compile(
            rf"(?:{_SHIPPING}\s+{_STANDARD}|{_STANDARD}\s+{_SHIPPING})(?P<gap>)\s*:\s*(?P<n>{_AMOUNT})"
        ),
    ],
    "free_shipping_threshold": [
        re.compile(
            rf"(?:gratuit[aoie]|gratis|omaggio)\s+(?:per\s+|sugli\s+|su\s+|con\s+)?(?:gli\s+|tutti\s+gli\s+)?(?:ordini|acquisti|spese)\s+(?:da|sopra|oltre|superiori\s+a|di\s+almeno|a\s+partire\s+da|pari\s+o\s+superiori\s+a)\s+(?P<n>{_AMOUNT})"
        ),
        re.compile(rf"(?:gratuit[aoie]|gratis)\s+(?:da|sopra|oltre)\s+(?:i\s+|gli\s+)?(?P<n>{_AMOUNT})"),
        re.compile(
            rf"(?:sopra|oltre|per ordini da)\s+(?P<n>{_AMOUNT})\s+(?:la\s+)?{_SHIPPING}\s+(?:e\s+)?(?:gratuit|gratis)"
        ),
        re.compile(
            rf"free(?:\s+{_SHIPPING})?\s+(?:on|for)\s+(?:all\s+)?(?:orders|purchases)\s+(?:of|over|above|from|worth)\s+(?:at\s+least\s+)?(?P<n>{_AMOUNT})"
        ),
        re.compile(rf"free\s+{_SHIPPING}\s+(?:over|above|from)\s+(?P<n>{_AMOUNT})"),
        re.compile(
            rf"(?:orders|purchases)\s+(?:of|over|above)\s+(?P<n>{_AMOUNT})(?:\s+or\s+more)?\s+(?:ship|get\s+free|qualify\s+for\s+free)"
        ),
    ],
    "return_days": [
        re.compile(
            r"(?P<n>\d{1,3})\s*(?:giorni|gg)\b[^.;:\n|\d]{0,40}?\b(?:per\s+(?:il\s+|effettuare\s+il\s+|fare\s+il\s+)?reso|per\s+(?:restituir|rendere)|di\s+reso)"
        ),
        re.compile(
            r"\b(?:restituir\w*|rendere|recedere)\b[^.;:\n|\d]{0,60}?\bentro\s+(?P<n>\d{1,3})\s*(?:giorni|gg)\b"
        ),
        re.compile(r"\bres[oi]\b[^.;:\n|\d]{0,30}?\bentro\s+(?P<n>\d{1,3})\s*(?:giorni|gg)\b"),
        re.compile(r"\breturn\w*\b[^.;:\n|\d]{0,60}?\bwithin\s+(?P<n>\d{1,3})\s*days?\b"),
        re.compile(
            r"(?P<n>\d{1,3})[- ]days?\b[^.;:\n|\d]{0,30}?\b(?:to\s+return|for\s+returns?|returns?\s+(?:window|period|policy))"
        ),
    ],
    "refund_days": [
        re.compile(r"\brimbors\w*\b[^.;:\n|\d]{0,40}?\bentro\s+(?P<n>\d{1,3})\s*(?:giorni|gg)\b"),
        re.compile(
            r"\brefund\w*\b[^.;:\n|\d]{0,40}?\bwithin\s+(?P<n>\d{1,3})\s*(?:business\s+|working\s+)?days?\b"
        ),
    ],
    "warranty_years": [
        re.compile(r"\bgaranzi\w*\b[^.;:\n\d]{0,40}?\b(?:di\s+|per\s+)?(?P<n>\d{1,2})\s*anni\b"),
        re.compile(r"\bgarantit\w*\s+(?:per\s+)?(?P<n>\d{1,2})\s*anni\b"),
        re.compile(r"(?P<n>\d{1,2})\s*anni\s+di\s+garanzia\b"),
        re.compile(r"(?P<n>\d{1,2})[- ]years?\b[^.;:\n\d]{0,30}?\b(?:warranty|guarantee)\b"),
        re.compile(
            r"\b(?:warranty|guarantee)\b[^.;:\n\d]{0,30}?\b(?:of|for|lasts?|is)\s+(?P<n>\d{1,2})\s*years?\b"
        ),
    ],
}
# A sentence that mentions one of these is about something else than the general rule.
_SKIP = {
    "shipping_cost": re.compile(
        r"supplement\w*|surcharge|sovrapprezz\w*|isol[ae]|islands?|esempio|example|=|\+"
    ),
    "express_shipping_cost": re.compile(r"supplement\w*|surcharge|isol[ae]|islands?|esempio|example|=|\+"),
    "free_shipping_threshold": re.compile(r"esempio|example|=|\+"),
    "return_days": re.compile(r"difett\w*|defect\w*|danneggiat\w*|damaged|garanzi\w*|warranty"),
    "refund_days": re.compile(r"difett\w*|defect\w*"),
    "warranty_years": re.compile(
        r"telai?o?\b|frames?\b|batteri\w*|battery|motor\w*|component\w*|parts?\b|ricambi\w*|accessori\w*"
    ),
}
_SHIPPING_CONTEXT = re.compile(r"spedizion|consegn|shipping|delivery|postage")


def policy_facts(origin: FactOrigin) -> list[Fact]:
    """Policy facts of one page or FAQ answer (documents of other kinds state none)."""
    document = origin.document
    if document.kind not in ("page", "faq"):
        return []
    body = document.data.get("faq", {}).get("answer") if document.kind == "faq" else document.text
    found: dict[str, dict[tuple[float, str], str]] = {}
    for name, value, unit, snippet in _statements(str(body or ""), document.title):
        found.setdefault(name, {}).setdefault((value, unit), snippet)
    facts = []
    for name, values in found.items():
        if len(values) != 1:
            continue  # two different numbers for one policy in one document: ambiguous
        (value, unit), snippet = next(iter(values.items()))
        facts.append(_fact(origin, name, value, unit, snippet))
    return facts


_UNIT_WORDS = {
    "days": {"it": ("giorno", "giorni"), "en": ("day", "days")},
    "years": {"it": ("anno", "anni"), "en": ("year", "years")},
}


def _fact(origin: FactOrigin, name: str, value: float, unit: str, snippet: str) -> Fact:
    if unit in _UNIT_WORDS:
        number = int(value) if float(value).is_integer() else value
        singular, plural = _UNIT_WORDS[unit][origin.lang]
        display = f"{number} {singular if number == 1 else plural}"
    else:
        display = format_price(value, unit, origin.lang)
    return origin.fact("policy", f"policy:{name}", value, display, unit=unit, snippet=snippet)


def _statements(text: str, title: str) -> Iterator[tuple[str, float, str, str]]:
    plain = text.replace("**", "").replace("__", "")
    heading = fold(title)
    for line in plain.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            heading = fold(stripped.lstrip("#").strip()) + " " + fold(title)
            continue
        if stripped.startswith("|"):
            yield from _row_statements(stripped, heading)
        for sentence in _sentences(stripped):
            yield from _sentence_statements(sentence)


def _sentences(line: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[^\s\d])", line) if s.strip()]


def _sentence_statements(sentence: str) -> Iterator[tuple[str, float, str, str]]:
    folded = fold(sentence)
    for name, patterns in _PATTERNS.items():
        if _SKIP[name].search(folded):
            continue
        values: set[tuple[float, str]] = set()
        for pattern in patterns:
            for match in pattern.finditer(folded):
                if name == "shipping_cost":
                    # "la spedizione Express costa …" is the express price, not the standard one.
                    before = folded[max(0, match.start() - 20) : match.start()]
                    if re.search(_EXPRESS, (match.groupdict().get("gap") or "") + " " + before):
                        continue
                number = _number(match.group("n"), name)
                if number is not None:
                    values.add(number)
        if len(values) == 1:
            value, unit = values.pop()
            yield name, value, unit, sentence.strip()


def _row_statements(row: str, heading: str) -> Iterator[tuple[str, float, str, str]]:
    """A table row of a shipping table: first cell names the option, the next cell its price."""
    cells = [c.strip() for c in row.strip("|").split("|")]
    if len(cells) < 2 or not _SHIPPING_CONTEXT.search(heading):
        return
    label = fold(cells[0])
    if re.search(_EXPRESS, label):
        name = "express_shipping_cost"
    elif re.search(rf"^{_STANDARD}\b|\b{_STANDARD}$", label) or re.fullmatch(
        rf"(?:{_SHIPPING}\s+)?{_STANDARD}", label
    ):
        name = "shipping_cost"
    else:
        return
    first = re.search(_AMOUNT, fold(cells[1]))
    if first is None:
        return
    number = _number(first.group(0), name)
    if number is not None:
        yield name, number[0], number[1], row


def _number(text: str, name: str) -> tuple[float, str] | None:
    """(value, unit) of a matched number: an amount with its ISO currency, or whole days/years."""
    unit = POLICY_UNITS[name]
    if unit == "money":
        try:
            amount, currency = parse_price(re.sub(r"euro|eur(?![a-z])", "€", text))
        except ValueError:
            return None
        return round(amount, 2), currency
    value = int(text)
    return (float(value), unit) if value > 0 else None
