"""Postal addresses written in a page's or FAQ answer's text: "Via Emilia 12, 41100 Modena",
"Corso di Porta Ticinese 60, 20123 Milano", "221B Baker Street, London NW1 6XE".

An address is a street line — a street type and a name before the house number ("Via Emilia
12"), or a house number and a name before the street type ("221B Baker Street") — then, after a
comma, a line break or a table cell, the town with its postcode before or after it. Street types
come from each language's data file (`places.street_before_name`, `places.street_after_name` in
`knowledge/text/languages/<lang>.yaml`), and so do the words that introduce a company's
registered office or legal details ("Sede legale:", "Registered office:", "P.IVA"): an address
after them is the company's, not a place customers visit, and is not returned.

Without a postcode, the town must end its line, cell or clause ("Via Po 45, Torino" but not
"Via Po 45, Tel. 011 …"): a guess at a place is worse than none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from knowledge.text import LANGUAGES, fold, language_data

__all__ = ["PostalAddress", "postal_addresses", "street_key"]

_UPPER = "A-ZÀ-ÖØ-Þ"
_LOWER = "a-zß-öø-ÿ'’"
# A town: capitalised words, joined by spaces or hyphens, with short lower-case particles in
# between ("San Giovanni in Persiceto", "Castel San Pietro Terme", "Newcastle upon Tyne").
_TOWN = rf"[{_UPPER}][{_LOWER}]+(?:[ -](?:[{_LOWER}]{{1,5}}[ -])?[{_UPPER}][{_LOWER}]+){{0,3}}"
_NUMBER = r"\d{1,5}[A-Za-z]?(?:\s?/\s?[A-Za-z0-9]{1,3})?"
# A street's name: a capitalised word or a number first, after at most two particles ("Corso di
# Porta Ticinese", "Via della Spiga", "Via 4 Novembre").
_STREET_NAME = rf"(?:[{_LOWER}]{{1,5}}[ \t]+){{0,2}}[{_UPPER}0-9][^\n,;:|()]{{0,60}}?"
_BREAK = r"[ \t]*(?:,|\|)[ \t]*|[ \t]*\n\s*|[ \t]+[-–—·][ \t]+"
_POSTCODE_BEFORE = r"\d{4,5}"
_POSTCODE_AFTER = r"[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}|(?:[A-Z]{2}[ \t]+)?\d{5}(?:-\d{4})?"
# Where a town given without postcode must end: its line, cell, clause or a bracket.
_TOWN_END = re.compile(r"[ \t]*(?:$|\n|,|;|\||\(|\)|[-–—·][ \t])")
# The town with its postcode on the next line of a district written without one.
_TOWN_LINE = re.compile(rf"[ \t]*(?:,|\n\s*)[ \t]*(?P<town>{_TOWN})[ \t,]+(?P<after>{_POSTCODE_AFTER})(?![\w])")


@dataclass(frozen=True)
class PostalAddress:
    street: str  # "Via Emilia 12"
    town: str  # "Modena"
    postcode: str | None  # "41100"
    line: str  # as written, spaces collapsed: "Via Emilia 12, 41100 Modena"
    start: int  # offset of the street in the text it was read from

    @property
    def key(self) -> str:
        """Street and town folded to their words: two spellings of one address have one key."""
        return f"{_folded_words(self.street)}|{_folded_words(self.town)}"


def postal_addresses(text: str) -> list[PostalAddress]:
    """Every address in `text`, in order, except those introduced as a registered office."""
    found: list[PostalAddress] = []
    for pattern in _patterns():
        for match in pattern.finditer(text):
            postcode = match.group("before") or match.group("after")
            town = match.group("town") or match.group("town2")
            end = match.end()
            if not postcode:
                if not _TOWN_END.match(text, end):
                    continue
                # "21 Redhill Street, Ancoats\n\nManchester M4 5BA": a district, then the town.
                town_line = _TOWN_LINE.match(text, end)
                if town_line is not None:
                    town, postcode, end = town_line.group("town"), town_line.group("after"), town_line.end()
            if _registered_office(text, match.start()):
                continue
            street = " ".join(match.group("street").replace(",", " ").split())
            parts = (" ".join(part.split()) for part in text[match.start() : end].split("\n"))
            line = ", ".join(part for part in parts if part)
            found.append(PostalAddress(street, town, postcode, line, match.start()))
    return sorted(found, key=lambda a: a.start)


def street_key(address: str) -> str:
    """The street of a street or address line, folded to its words: "Via Po, 45" and
    "Via Po 45, 10124 Torino, TO, IT" both give "via po 45"."""
    parsed = postal_addresses(address)
    if parsed:
        return _folded_words(parsed[0].street)
    first, _, rest = address.partition(",")
    if rest and not re.search(r"\d", first):  # "Via Po, 45": the number after the comma
        first += " " + rest.split(",")[0]
    return _folded_words(first)


def _folded_words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", fold(text)))


def _words(section: str) -> list[str]:
    out: set[str] = set()
    for lang in LANGUAGES:
        places = language_data(lang).get("places") or {}
        out.update(str(w) for w in places.get(section) or [])
    return sorted(out, key=len, reverse=True)


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    town = (
        rf"(?:(?P<before>{_POSTCODE_BEFORE})[ \t]*[-,]?[ \t]*(?P<town>{_TOWN})"
        rf"|(?P<town2>{_TOWN})(?:[ \t,]+(?P<after>{_POSTCODE_AFTER}))?)(?![\w])"
    )
    patterns = []
    before = _words("street_before_name")
    if before:  # "Via Emilia 12, 41100 Modena"
        patterns.append(
            rf"(?<![\w.])(?P<street>(?i:{_alternation(before)})(?![\w])\.?[ \t]+{_STREET_NAME},?[ \t]*{_NUMBER})"
            rf"(?![\d:.,]\d)(?:{_BREAK}){town}"
        )
    after = _words("street_after_name")
    if after:  # "221B Baker Street, London NW1 6XE"
        patterns.append(
            rf"(?<![\w.,:/-])(?P<street>{_NUMBER}[ \t]+(?:[{_UPPER}][\w'’.-]*[ \t]+){{1,4}}?(?i:{_alternation(after)}))"
            rf"(?![\w])\.?(?:{_BREAK}){town}"
        )
    return tuple(re.compile(p) for p in patterns)


def _registered_office(text: str, start: int) -> bool:
    """Whether the address's line (with the line before, when the address opens its own line)
    introduces a registered office or the company's legal details."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    if not text[line_start:start].strip() and line_start > 0:
        line = text[text.rfind("\n", 0, line_start - 1) + 1 : line_start] + line
    return bool(_registered_office_words().search(fold(line)))


@cache
def _registered_office_words() -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z0-9])(?:{_alternation([fold(w) for w in _words('registered_office')])})(?![a-z0-9])")
